"""Disabling and re-enabling accounts: sessions and API tokens stop on their next request, login is refused with a
clear message, records stay, every change is audited, and only an administrator over the person may."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.tokens import create_token
from app.audit import AuditLog
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.permissions import Role
from app.timeutil import utcnow
from tests.support import PASSWORD
from volunteers.accounts.models import User
from volunteers.admin.directory.disabling import disable_account, enable_account


def _audit(db, action):
    db.session.expire_all()
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()


def _fresh(db, user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def _token(db, user) -> str:
    _row, secret = create_token(user, "tests", by=None, now=utcnow())
    db.session.commit()
    return secret


def _api(client, secret):
    return client.get("/api/v1/me/assignments", headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def person(people):
    return people["nancheng_volunteer"]


@pytest.fixture
def admin_client(people, login_as):
    return login_as(people["admin"])


def test_disabling_ends_the_session_and_the_api_token_on_their_next_request(
    admin_client, person, login_as, make_client, db
):
    session = login_as(person)
    assert session.get("/me").status_code == 200
    secret = _token(db, person)
    assert _api(make_client(), secret).status_code == 200
    old_token = person.session_token

    response = admin_client.post(f"/admin/people/{person.id}/disable", data={"reason": "冒用他人身份"})
    assert response.status_code == 302 and response.headers["Location"] == f"/volunteers/{person.id}"

    after = session.get("/me")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    refused = _api(make_client(), secret)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "invalid_token"
    stored = _fresh(db, person)
    assert stored.is_disabled and stored.session_token != old_token


def test_a_disabled_person_is_told_at_login_only_with_the_right_password(admin_client, person, client, field_error):
    admin_client.post(f"/admin/people/{person.id}/disable", data={"reason": "离开本组织"})
    right = client.post("/login", data={"mobile": person.mobile, "password": PASSWORD})
    assert right.status_code == 401
    assert "This account has been disabled." in field_error(right.get_data(as_text=True), "password")
    wrong = client.post("/login", data={"mobile": person.mobile, "password": "not-the-password"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 401 and "disabled" not in html
    assert "Wrong mobile number or password." in field_error(html, "password")


def test_records_stay_and_the_change_is_audited_with_its_reason(admin_client, person, people, db, login_as):
    users_before = db.session.scalar(select(func.count(User.id)))
    admin_client.post(f"/admin/people/{person.id}/disable", data={"reason": "  冒用   他人身份 "})
    entry = _audit(db, "account.disable")[-1]
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.organization_id, entry.note) == (
        people["admin"].id,
        "User",
        person.id,
        person.organization_id,
        "冒用 他人身份",
    )
    assert db.session.scalar(select(func.count(User.id))) == users_before
    # still listed, as disabled; the profile still opens
    reviewer = login_as(people["reviewer"])
    assert 'data-status="disabled"' in reviewer.get("/admin/people", query_string={"name": person.name}).get_data(
        as_text=True
    )
    assert reviewer.get(f"/volunteers/{person.id}").status_code == 200
    audit_page = admin_client.get("/admin/audit", query_string={"action": "account.disable"}).get_data(as_text=True)
    assert "Disabled an account" in audit_page and "冒用 他人身份" in audit_page


def test_re_enabling_lets_the_person_in_again(admin_client, person, client, make_client, db):
    secret = _token(db, person)
    admin_client.post(f"/admin/people/{person.id}/disable", data={"reason": "暂停"})
    response = admin_client.post(f"/admin/people/{person.id}/enable", data={"reason": "核实无误"})
    assert response.status_code == 302
    assert not _fresh(db, person).is_disabled
    assert client.post("/login", data={"mobile": person.mobile, "password": PASSWORD}).status_code == 302
    assert _api(make_client(), secret).status_code == 200
    entry = _audit(db, "account.enable")[-1]
    assert entry.note == "核实无误" and entry.before == {"is_disabled": True}
    history = admin_client.get(f"/admin/people/{person.id}/account").get_data(as_text=True)
    assert "暂停" in history and "核实无误" in history


def test_a_reason_is_required_and_a_refusal_changes_nothing(admin_client, person, db, field_error):
    audit_before = len(_audit(db, "account.disable"))
    response = admin_client.post(f"/admin/people/{person.id}/disable", data={"reason": "   "})
    assert response.status_code == 422
    assert "Give the reason" in field_error(response.get_data(as_text=True), "reason")
    too_long = admin_client.post(f"/admin/people/{person.id}/disable", data={"reason": "长" * 201})
    assert too_long.status_code == 422
    assert 'value="' + "长" * 201 + '"' in too_long.get_data(as_text=True)  # what was typed stays
    assert not _fresh(db, person).is_disabled
    assert len(_audit(db, "account.disable")) == audit_before


def test_nobody_disables_their_own_account(admin_client, people, db):
    admin = people["admin"]
    response = admin_client.post(f"/admin/people/{admin.id}/disable", data={"reason": "测试"})
    assert response.status_code == 409
    assert "You cannot disable or enable your own account." in response.get_data(as_text=True)
    with pytest.raises(Conflict):
        disable_account(admin, "测试", by=admin, now=utcnow())
    assert not _fresh(db, admin).is_disabled


@pytest.mark.parametrize("who", ["dongcheng_admin", "reviewer", "coordinator", "nancheng_volunteer2"])
def test_only_an_administrator_over_the_person_may(people, login_as, person, db, who):
    client = login_as(people[who])
    assert client.post(f"/admin/people/{person.id}/disable", data={"reason": "越权"}).status_code == 403
    assert client.get(f"/admin/people/{person.id}/account").status_code == 403
    assert not _fresh(db, person).is_disabled
    assert _audit(db, "account.disable") == []


def test_an_unknown_person_is_not_found(admin_client):
    assert admin_client.post("/admin/people/999999/disable", data={"reason": "x"}).status_code == 404


def test_an_administrator_above_cannot_be_disabled_from_below(admin_client, make_user, orgs, db):
    city_admin_here = make_user(
        organization=orgs["nancheng_team"], name="市级管理员", role=Role.ADMIN, role_org=orgs["city"]
    )
    response = admin_client.post(f"/admin/people/{city_admin_here.id}/disable", data={"reason": "越权"})
    assert response.status_code == 403
    assert not _fresh(db, city_admin_here).is_disabled


def test_services_refuse_twice_and_check_the_actor(people, person, db):
    now = utcnow()
    disable_account(person, "原因", by=people["admin"], now=now)
    db.session.commit()
    with pytest.raises(Conflict):
        disable_account(person, "原因", by=people["admin"], now=now)
    with pytest.raises(PermissionDenied):
        enable_account(person, "原因", by=people["dongcheng_admin"], now=now)
    with pytest.raises(ValidationFailed):
        enable_account(person, "", by=people["admin"], now=now)
    enable_account(person, "原因", by=people["city_admin"], now=now)
    db.session.commit()
    with pytest.raises(Conflict):
        enable_account(person, "原因", by=people["admin"], now=now)


def test_the_profile_shows_the_buttons_to_whom_they_belong(people, login_as, person):
    admin_page = login_as(people["admin"]).get(f"/volunteers/{person.id}").get_data(as_text=True)
    assert f'action="/admin/people/{person.id}/disable"' in admin_page
    reviewer_page = login_as(people["reviewer"]).get(f"/volunteers/{person.id}").get_data(as_text=True)
    assert "/disable" not in reviewer_page
    assert f'action="/volunteers/{person.id}/reset-link"' in reviewer_page
    own = login_as(person).get("/me").get_data(as_text=True)
    assert "account-actions" not in own
