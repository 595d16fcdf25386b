"""CSRF protection on every form: a POST without this session's token is refused and changes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.security import demo_id_number
from tests.support import PASSWORD, csrf_token_of
from volunteers.accounts.models import User


@pytest.fixture
def app_overrides():
    return {"WTF_CSRF_ENABLED": True}


def registration(orgs, mobile="13911112222"):
    return {
        "name": "陈思远",
        "mobile": mobile,
        "id_number": demo_id_number(date(1999, 9, 9), 41).value,
        "password": "Long-enough-9",
        "password_confirm": "Long-enough-9",
        "political_status": "共青团员",
        "organization_id": str(orgs["nancheng_team"].id),
        "emergency_contact_name": "陈父",
        "emergency_contact_mobile": "13700002222",
    }


def users(db) -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_registration_without_token_is_refused_and_writes_nothing(client, orgs, db):
    before = users(db)
    response = client.post("/register", data=registration(orgs))
    assert response.status_code == 400
    assert "The form has expired or was not sent from this site" in response.get_data(as_text=True)
    assert users(db) == before


def test_registration_with_a_token_from_another_session_is_refused(client, make_client, orgs, db):
    foreign_token = csrf_token_of(make_client(), "/register")
    response = client.post("/register", data={**registration(orgs), "csrf_token": foreign_token})
    assert response.status_code == 400
    assert users(db) == 0


def test_registration_with_the_pages_token_goes_through(client, orgs, db):
    token = csrf_token_of(client, "/register")
    response = client.post("/register", data={**registration(orgs), "csrf_token": token})
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.mobile == "13911112222")) is not None


def test_login_without_token_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login", data={"mobile": user.mobile, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/me").status_code == 302  # still anonymous


def test_logout_without_token_keeps_the_session(client, make_user):
    user = make_user()
    token = csrf_token_of(client, "/login")
    assert (
        client.post("/login", data={"mobile": user.mobile, "password": PASSWORD, "csrf_token": token}).status_code
        == 302
    )
    refused = client.post("/logout", headers={"Accept": "application/json"})
    assert refused.status_code == 400
    assert refused.get_json() == {"error": {"code": "csrf_failed", "message": refused.get_json()["error"]["message"]}}
    assert client.get("/me").status_code == 200

    accepted = client.post("/logout", data={"csrf_token": csrf_token_of(client, "/me")})
    assert accepted.status_code == 302
    assert client.get("/me").status_code == 302
