"""Who may open, edit and reveal whose profile: the owner, and staff of the volunteer's subtree by role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.permissions import Role
from volunteers.accounts.models import User


def _profile_form(volunteer: User, **changes) -> dict:
    data = {
        "name": volunteer.name,
        "political_status": volunteer.political_status,
        "organization_id": str(volunteer.organization_id),
        "emergency_contact_name": volunteer.emergency_contact_name,
        "emergency_contact_mobile": volunteer.emergency_contact_mobile,
    }
    data.update(changes)
    return data


def test_anonymous_visitors_are_sent_to_login(client, people):
    volunteer = people["nancheng_volunteer"]
    for path in (f"/volunteers/{volunteer.id}", f"/volunteers/{volunteer.id}/edit", "/me", "/me/password"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    assert client.post(f"/volunteers/{volunteer.id}/id-number").status_code == 302


def test_volunteer_cannot_open_or_edit_another_volunteers_profile(people, login_as, db):
    me, other = people["nancheng_volunteer"], people["nancheng_volunteer2"]  # same town, even
    client = login_as(me)
    assert client.get(f"/volunteers/{other.id}").status_code == 403
    assert client.get(f"/volunteers/{other.id}/edit").status_code == 403
    response = client.post(f"/volunteers/{other.id}/edit", data=_profile_form(other, name="被改的名字"))
    assert response.status_code == 403
    assert client.post(f"/volunteers/{other.id}/id-number").status_code == 403
    db.session.expire_all()
    assert db.session.get(User, other.id).name == "南城志愿者二"
    assert other.name not in client.get(f"/volunteers/{other.id}").get_data(as_text=True)


def test_volunteer_opens_and_edits_their_own_profile(people, login_as, db):
    me = people["nancheng_volunteer"]
    client = login_as(me)
    assert client.get(f"/volunteers/{me.id}").status_code == 200
    assert client.get(f"/volunteers/{me.id}/edit").status_code == 200
    response = client.post(f"/volunteers/{me.id}/edit", data=_profile_form(me, name="新名字"))
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"
    db.session.expire_all()
    assert db.session.get(User, me.id).name == "新名字"
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "volunteer.update_profile")).one()
    assert entry.before == {"name": "南城志愿者"} and entry.after == {"name": "新名字"}


def test_bad_profile_edit_is_refused_beside_the_field(people, login_as, db, field_error):
    me = people["nancheng_volunteer"]
    response = login_as(me).post(f"/volunteers/{me.id}/edit", data=_profile_form(me, emergency_contact_mobile="12"))
    assert response.status_code == 422
    assert "Mobile number must be 11 digits" in field_error(response.get_data(as_text=True), "emergency_contact_mobile")
    db.session.expire_all()
    assert db.session.get(User, me.id).emergency_contact_mobile == "13700000000"


# (staff, volunteer) -> may view, may edit, may reveal
STAFF_CASES = [
    ("coordinator", "nancheng_volunteer", True, False, False),
    ("reviewer", "nancheng_volunteer", True, False, False),
    ("admin", "nancheng_volunteer", True, True, True),
    ("coordinator", "nancheng_volunteer2", True, False, False),
    ("reviewer", "nancheng_volunteer2", True, False, False),
    ("admin", "nancheng_volunteer2", True, True, True),
    ("coordinator", "dongcheng_volunteer", False, False, False),
    ("reviewer", "dongcheng_volunteer", False, False, False),
    ("admin", "dongcheng_volunteer", False, False, False),
    ("dongcheng_admin", "nancheng_volunteer", False, False, False),
    ("dongcheng_admin", "dongcheng_volunteer", True, True, True),
    ("city_admin", "nancheng_volunteer", True, True, True),
    ("city_admin", "dongcheng_volunteer", True, True, True),
]


@pytest.mark.parametrize("staff, volunteer, may_view, may_edit, may_reveal", STAFF_CASES)
def test_staff_access_follows_role_and_subtree(people, login_as, db, staff, volunteer, may_view, may_edit, may_reveal):
    target = people[volunteer]
    client = login_as(people[staff])

    view = client.get(f"/volunteers/{target.id}")
    assert view.status_code == (200 if may_view else 403)
    if may_view:
        html = view.get_data(as_text=True)
        assert target.name in html and target.masked_id_number in html
        assert ("Edit profile" in html) == may_edit
        assert ("Show in full (recorded)" in html) == may_reveal

    assert client.get(f"/volunteers/{target.id}/edit").status_code == (200 if may_edit else 403)
    edit = client.post(f"/volunteers/{target.id}/edit", data=_profile_form(target, emergency_contact_name="新联系人"))
    assert edit.status_code == (302 if may_edit else 403)
    db.session.expire_all()
    assert (db.session.get(User, target.id).emergency_contact_name == "新联系人") == may_edit

    reveal = client.post(f"/volunteers/{target.id}/id-number")
    assert reveal.status_code == (200 if may_reveal else 403)
    reveals = db.session.scalars(select(AuditLog).where(AuditLog.action == "id_number.reveal")).all()
    assert [(e.actor_id, e.target_id) for e in reveals] == ([(people[staff].id, target.id)] if may_reveal else [])


def test_role_at_a_team_does_not_reach_the_town(make_user, orgs, login_as, people):
    team_coordinator = make_user(organization=orgs["nancheng_team"], role=Role.COORDINATOR)
    client = login_as(team_coordinator)
    assert client.get(f"/volunteers/{people['nancheng_volunteer'].id}").status_code == 200  # in the team
    assert client.get(f"/volunteers/{people['nancheng_volunteer2'].id}").status_code == 403  # in a sibling branch


def test_unknown_volunteer_is_404(people, login_as):
    client = login_as(people["city_admin"])
    assert client.get("/volunteers/999999").status_code == 404
    assert client.post("/volunteers/999999/id-number").status_code == 404
