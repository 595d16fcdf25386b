"""Mass assignment: extra or forged fields posted through the registration and profile forms and the
API (role, disabled flag, volunteer number, activation, organization outside the picker, political
status, shift counters, event status, creator) are ignored or refused, and nothing else changes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from api.tokens import create_token
from app.security import demo_id_number
from app.timeutil import utcnow
from events.models import Assignment, Event, Shift
from volunteers.accounts.models import User
from volunteers.organizations.models import RoleGrant

FORGED_ACCOUNT_FIELDS = {
    "role": "admin",
    "role_org": "1",
    "is_disabled": "y",
    "volunteer_number": "DG00000001",
    "activated_at": "2020-01-01T00:00:00",
    "source": "imported",
    "session_token": "0" * 32,
    "calendar_token": "1" * 32,
    "id_number_hash": "f" * 64,
    "signup_serial": "99",
    "password_hash": "x",
    "id": "1",
    "organization": "1",
    "grants": "admin",
}


@pytest.fixture
def registration(orgs):
    def make(**overrides) -> dict:
        data = {
            "name": "林小雨",
            "mobile": "13612345678",
            "id_number": demo_id_number(date(2001, 5, 4), 777).value,
            "password": "Sunflower-2026",
            "password_confirm": "Sunflower-2026",
            "political_status": "共青团员",
            "organization_id": str(orgs["nancheng_team"].id),
            "emergency_contact_name": "林大山",
            "emergency_contact_mobile": "13712345678",
        }
        data.update(overrides)
        return data

    return make


def _profile_form(user: User, **overrides) -> dict:
    data = {
        "name": user.name,
        "political_status": user.political_status,
        "organization_id": str(user.organization_id),
        "emergency_contact_name": user.emergency_contact_name,
        "emergency_contact_mobile": user.emergency_contact_mobile,
    }
    data.update(overrides)
    return data


def _account(db, user_id: int) -> dict:
    db.session.expire_all()
    user = db.session.get(User, user_id)
    grants = db.session.scalar(select(func.count()).select_from(RoleGrant).where(RoleGrant.user_id == user_id))
    return {
        "volunteer_number": user.volunteer_number,
        "is_disabled": user.is_disabled,
        "source": user.source,
        "activated_at": user.activated_at,
        "session_token": user.session_token,
        "mobile": user.mobile,
        "calendar_token": user.calendar_token,
        "id_number_hash": user.id_number_hash,
        "grants": grants,
        "organization_id": user.organization_id,
        "political_status": user.political_status,
        "signup_serial": user.signup_serial,
        "password_hash": user.password_hash,
    }


def test_registration_ignores_forged_account_fields(client, db, registration):
    response = client.post("/register", data=registration(**FORGED_ACCOUNT_FIELDS))
    assert response.status_code == 302
    user = db.session.scalars(select(User).where(User.mobile == "13612345678")).one()
    assert user.volunteer_number != "DG00000001" and not user.is_disabled and user.source == "registered"
    assert user.session_token != "0" * 32 and user.calendar_token != "1" * 32 and user.password_hash != "x"
    assert user.id_number_hash != "f" * 64 and user.signup_serial == 0
    assert db.session.scalar(select(func.count()).select_from(RoleGrant).where(RoleGrant.user_id == user.id)) == 0


@pytest.mark.parametrize(
    "field,value",
    [
        ("organization_id", "999999"),
        ("organization_id", "-1"),
        ("organization_id", "1 OR 1=1"),
        ("political_status", "团干部"),
        ("political_status", "中共党员 "),
        ("skills", "999999"),
    ],
)
def test_registration_refuses_values_outside_the_pickers(client, db, registration, field, value):
    response = client.post("/register", data=registration(**{field: value}))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(User).where(User.mobile == "13612345678")) == 0


def test_profile_edit_ignores_forged_account_fields(client, db, make_user, login):
    user = make_user()
    before = _account(db, user.id)
    login(user)
    response = client.post(
        f"/volunteers/{user.id}/edit",
        data=_profile_form(user, mobile="13900000000", id_number="x", **FORGED_ACCOUNT_FIELDS),
    )
    assert response.status_code == 302
    assert _account(db, user.id) == before


def test_profile_edit_ignores_an_organization(client, db, make_user, login, orgs):
    """The affiliation changes through a move request (volunteers/affiliation/), never through the profile."""
    user = make_user()
    login(user)
    for value in ("999999", str(orgs["dongcheng_team"].id)):
        assert (
            client.post(f"/volunteers/{user.id}/edit", data=_profile_form(user, organization_id=value)).status_code
            == 302
        )
        db.session.expire_all()
        assert db.session.get(User, user.id).organization_id == orgs["nancheng_team"].id


@pytest.mark.parametrize("field,value", [("political_status", "团干部"), ("skills", "999999")])
def test_profile_edit_refuses_values_outside_the_pickers(client, db, make_user, login, field, value):
    user = make_user()
    before = _account(db, user.id)
    login(user)
    assert client.post(f"/volunteers/{user.id}/edit", data=_profile_form(user, **{field: value})).status_code == 422
    assert _account(db, user.id) == before


def test_volunteer_cannot_edit_someone_else_by_posting_their_id(client, db, make_user, login):
    victim, attacker = make_user(), make_user()
    before = _account(db, victim.id)
    login(attacker)
    response = client.post(
        f"/volunteers/{attacker.id}/edit", data=_profile_form(attacker, id=str(victim.id), user_id=str(victim.id))
    )
    assert response.status_code == 302
    assert _account(db, victim.id) == before
    assert client.post(f"/volunteers/{victim.id}/edit", data=_profile_form(victim, name="改名者")).status_code == 403
    assert _account(db, victim.id) == before


@pytest.fixture
def bearer(db):
    def make(user) -> dict:
        _token, secret = create_token(user, "mass", by=None, now=utcnow())
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


def _shift_state(db, shift_id: int) -> tuple:
    db.session.expire_all()
    shift = db.session.get(Shift, shift_id)
    event = db.session.get(Event, shift.event_id)
    statuses = tuple(db.session.scalars(select(Assignment.status).where(Assignment.shift_id == shift_id)))
    return shift.capacity, shift.assigned_count, event.status, event.organization_id, statuses


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("PATCH", "/api/v1/shifts/{shift}", {"assigned_count": 0}),
        ("PATCH", "/api/v1/shifts/{shift}", {"capacity": 12, "assigned_count": 99}),
        ("PATCH", "/api/v1/events/{event}", {"status": "cancelled"}),
        ("PATCH", "/api/v1/events/{event}", {"title": "改名", "created_by_id": 1}),
        ("PATCH", "/api/v1/events/{event}", {"published_at": "2020-01-01T00:00:00+08:00"}),
        ("POST", "/api/v1/shifts/{shift}/signup", {"status": "confirmed", "verified": True}),
        ("POST", "/api/v1/shifts/{shift}/assignments", {"user_id": 1, "status": "attended", "verified": True}),
        ("POST", "/api/v1/assignments/{assignment}/cancel", {"reason": "x", "status": "attended"}),
    ],
)
def test_api_refuses_fields_it_does_not_take(
    app, client, db, staffed_event, make_user, orgs, bearer, method, path, body
):
    coordinator = make_user(role="coordinator", role_org=orgs["nancheng"])
    shift_id = staffed_event["shift"].id
    before = _shift_state(db, shift_id)
    url = path.format(shift=shift_id, event=staffed_event["event"].id, assignment=staffed_event["assignment"].id)
    response = client.open(url, method=method, json=body, headers=bearer(coordinator))
    assert response.status_code in (400, 422), response.get_json()
    assert _shift_state(db, shift_id) == before


def test_api_event_cannot_be_created_for_an_organization_outside_the_coordinators_subtree(
    app, client, db, staffed_event, make_user, orgs, bearer
):
    coordinator = make_user(role="coordinator", role_org=orgs["nancheng"])
    shift = staffed_event["shift"]
    body = {
        "title": "越权活动",
        "kind": "community",
        "organization_id": orgs["dongcheng"].id,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
    }
    count = db.session.scalar(select(func.count()).select_from(Event))
    response = client.post("/api/v1/events", json=body, headers=bearer(coordinator))
    assert response.status_code in (403, 404, 422)
    moved = client.patch(
        f"/api/v1/events/{staffed_event['event'].id}",
        json={"organization_id": orgs["dongcheng"].id},
        headers=bearer(coordinator),
    )
    assert moved.status_code in (403, 404, 422)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Event)) == count
    assert db.session.get(Event, staffed_event["event"].id).organization_id == orgs["nancheng"].id
