"""Imported volunteers activate their own accounts: mobile + ID number + a new password, once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.security import decrypt_id_number
from tests.support import PASSWORD
from volunteers.accounts.models import User

NEW_PASSWORD = "Qing-nian-2026"
REFUSED = "These details do not match an account waiting for activation."


@pytest.fixture
def app_overrides():
    return {"ACTIVATION_LIMIT_PER_ACCOUNT": "3 per 15 minutes"}


@pytest.fixture
def imported_row(db, orgs, town_admin, make_row, run_upload):
    """One volunteer imported by the 南城街道 administrator (who stays logged in on `client`)."""
    row = make_row()
    job = run_upload([row], orgs["nancheng"])
    assert job.rows_imported == 1
    return row


def activate(client, mobile, id_number, password=NEW_PASSWORD, confirm=None):
    return client.post(
        "/activate",
        data={"mobile": mobile, "id_number": id_number, "password": password, "password_confirm": confirm or password},
    )


def user_by_mobile(db, mobile) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.mobile == mobile))


def test_activation_works_once_and_then_the_volunteer_logs_in(db, make_client, imported_row):
    visitor = make_client()
    mobile, id_number = imported_row["手机号"], imported_row["身份证号"]

    refused_login = visitor.post("/login", data={"mobile": mobile, "password": NEW_PASSWORD})
    assert refused_login.status_code == 401
    assert 'not activated yet. <a href="/activate">Activate it now</a>' in refused_login.get_data(as_text=True)
    assert 'href="/activate"' in visitor.get("/login").get_data(as_text=True)

    assert visitor.get("/activate").status_code == 200
    response = activate(visitor, mobile, id_number.lower())  # a lowercase x is the same number
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    user = user_by_mobile(db, mobile)
    assert user.password_hash and user.activated_at is not None and user.is_active
    assert (
        db.session.scalar(select(AuditLog).where(AuditLog.action == "account.activate", AuditLog.target_id == user.id))
        is not None
    )

    again = activate(make_client(), mobile, id_number, password="Another-pass-99")
    assert again.status_code == 422 and REFUSED in again.get_data(as_text=True)

    logged_in = visitor.post("/login", data={"mobile": mobile, "password": NEW_PASSWORD})
    assert logged_in.status_code == 302
    assert visitor.get("/me").status_code == 200
    assert make_client().post("/login", data={"mobile": mobile, "password": "Another-pass-99"}).status_code == 401


def test_activation_with_a_wrong_id_number_is_refused_without_saying_which_part(
    db, make_client, make_user, make_row, imported_row
):
    mobile, id_number = imported_row["手机号"], imported_row["身份证号"]
    somebody_else = make_row()["身份证号"]
    registered = make_user()
    attempts = [
        (mobile, somebody_else),  # right mobile, wrong ID number
        ("15899999999", id_number),  # unknown mobile, right ID number
    ]
    pages = []
    for try_mobile, try_id in attempts:
        response = activate(make_client(), try_mobile, try_id)
        assert response.status_code == 422
        pages.append(response.get_data(as_text=True))
    # A self-registered account has a password already: refused alike, even with its right ID number.
    response = activate(make_client(), registered.mobile, decrypt_id_number(registered.id_number_encrypted))
    assert response.status_code == 422
    pages.append(response.get_data(as_text=True))
    for html in pages:
        assert REFUSED in html
        assert "has-error" not in html  # no field is singled out
    assert user_by_mobile(db, mobile).password_hash is None
    assert make_client().post("/login", data={"mobile": registered.mobile, "password": PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    "password, confirm, message",
    [
        ("short1!", None, "Password must be at least 8 characters."),
        (None, None, "Password must not contain your mobile number."),
        (NEW_PASSWORD, "Different-9876", "Passwords do not match."),
    ],
)
def test_activation_applies_the_registration_password_rules(db, make_client, imported_row, password, confirm, message):
    mobile = imported_row["手机号"]
    password = password or f"x{mobile}y"
    response = activate(make_client(), mobile, imported_row["身份证号"], password=password, confirm=confirm)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert user_by_mobile(db, mobile).password_hash is None


def test_activation_rejects_a_malformed_id_number_beside_the_field(db, make_client, imported_row):
    response = activate(make_client(), imported_row["手机号"], imported_row["身份证号"][:17] + "Z")
    assert response.status_code == 422
    assert "ID number must be 17 digits followed by a digit or X." in response.get_data(as_text=True)


def test_repeated_failed_activations_are_throttled(db, make_client, make_row, imported_row):
    mobile, id_number = imported_row["手机号"], imported_row["身份证号"]
    for _ in range(3):
        assert activate(make_client(), mobile, make_row()["身份证号"]).status_code == 422
    throttled = activate(make_client(), mobile, id_number)
    assert throttled.status_code == 429
    assert user_by_mobile(db, mobile).password_hash is None


def test_a_logged_in_user_is_sent_to_the_profile(client, imported_row):
    response = client.get("/activate")
    assert response.status_code == 302 and response.headers["Location"].endswith("/me")
