"""Login, throttling of failed logins, logout and password change ending sessions, safe redirects."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from tests.support import PASSWORD

ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 5


@pytest.fixture
def app_overrides():
    """Small limits, so a few requests reach them."""
    return {
        "LOGIN_LIMIT_PER_ACCOUNT": f"{ACCOUNT_LIMIT} per 15 minutes",
        "LOGIN_LIMIT_PER_ADDRESS": f"{ADDRESS_LIMIT} per 15 minutes",
    }


def _attempt(client, mobile, password, address="10.1.1.1", **kwargs):
    return client.post(
        "/login", data={"mobile": mobile, "password": password}, environ_overrides={"REMOTE_ADDR": address}, **kwargs
    )


def _is_throttle_page(response) -> bool:
    html = response.get_data(as_text=True)
    return (
        response.status_code == 429
        and "Too many attempts; please wait and try again." in html
        and 'class="card error-page"' in html
    )


def test_login_with_mobile_and_password(client, make_user):
    user = make_user()
    response = _attempt(client, user.mobile, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"
    assert user.name in client.get("/me").get_data(as_text=True)


@pytest.mark.parametrize("who", ["wrong_password", "unknown_mobile"])
def test_failed_login_says_the_same_beside_the_password(client, make_user, field_error, who):
    user = make_user()
    mobile, password = (user.mobile, "not-the-password") if who == "wrong_password" else ("13999999998", PASSWORD)
    response = _attempt(client, mobile, password)
    assert response.status_code == 401
    assert "Wrong mobile number or password." in field_error(response.get_data(as_text=True), "password")
    assert client.get("/me").status_code == 302


def test_failures_are_throttled_per_account_from_any_address(make_client, make_user):
    user, other = make_user(), make_user()
    for n in range(ACCOUNT_LIMIT):
        assert _attempt(make_client(), user.mobile, "wrong-password", address=f"10.0.0.{n + 1}").status_code == 401
    # a new address, even with the right password: the account is throttled
    throttled = _attempt(make_client(), user.mobile, PASSWORD, address="10.0.0.99")
    assert _is_throttle_page(throttled)
    assert "Retry-After" in throttled.headers or "X-RateLimit-Limit" in throttled.headers
    # another account from that same address is not affected
    assert _attempt(make_client(), other.mobile, PASSWORD, address="10.0.0.99").status_code == 302


def test_failures_are_throttled_per_address_across_accounts(make_client, make_user):
    user = make_user()
    for n in range(ADDRESS_LIMIT):
        assert _attempt(make_client(), f"1390000{n:04d}", "wrong-password", address="10.2.2.2").status_code == 401
    assert _is_throttle_page(_attempt(make_client(), user.mobile, PASSWORD, address="10.2.2.2"))
    # the same account from another address still gets in
    assert _attempt(make_client(), user.mobile, PASSWORD, address="10.3.3.3").status_code == 302


def test_a_successful_login_does_not_count(make_client, make_user):
    user = make_user()
    for _ in range(ACCOUNT_LIMIT - 1):
        assert _attempt(make_client(), user.mobile, "wrong-password").status_code == 401
    assert _attempt(make_client(), user.mobile, PASSWORD).status_code == 302
    # had the success counted, the account would be throttled now
    assert _attempt(make_client(), user.mobile, "wrong-password").status_code == 401
    assert _is_throttle_page(_attempt(make_client(), user.mobile, "wrong-password"))


def test_showing_the_login_form_does_not_count(client, make_user):
    user = make_user()
    for _ in range(ACCOUNT_LIMIT + ADDRESS_LIMIT):
        assert client.get("/login").status_code == 200
    assert _attempt(client, user.mobile, PASSWORD).status_code == 302


def _copy_session(source, target):
    target.set_cookie("session", source.get_cookie("session").value)
    return target


def test_session_cookie_copied_before_logout_is_refused_after(client, make_client, make_user, login):
    user = make_user()
    login(user)
    thief = _copy_session(client, make_client())
    assert thief.get("/me").status_code == 200  # the copy works while the session lives

    assert client.post("/logout").status_code == 302
    assert client.get("/me").status_code == 302
    replay = thief.get("/me")
    assert replay.status_code == 302
    assert replay.headers["Location"].startswith("/login")
    # logging in again issues a session the old cookie still does not match
    login(user)
    assert client.get("/me").status_code == 200
    assert thief.get("/me").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(client, make_client, make_user, login, db):
    user = make_user()
    login(user)
    laptop = login(user, target=make_client())
    copied = _copy_session(client, make_client())
    response = client.post(
        "/me/password",
        data={"current_password": PASSWORD, "new_password": "New-pass-2026", "new_password_confirm": "New-pass-2026"},
    )
    assert response.status_code == 302
    assert client.get("/me").status_code == 200
    assert laptop.get("/me").status_code == 302
    assert copied.get("/me").status_code == 302
    assert _attempt(make_client(), user.mobile, PASSWORD).status_code == 401
    assert _attempt(make_client(), user.mobile, "New-pass-2026").status_code == 302
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "account.change_password")).one()
    assert entry.actor_id == user.id


@pytest.mark.parametrize(
    "form, field, message",
    [
        (
            {
                "current_password": "wrong-password",
                "new_password": "New-pass-2026",
                "new_password_confirm": "New-pass-2026",
            },
            "current_password",
            "The current password is wrong.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "short", "new_password_confirm": "short"},
            "new_password",
            "at least 8 characters",
        ),
        (
            {"current_password": PASSWORD, "new_password": "New-pass-2026", "new_password_confirm": "New-pass-2027"},
            "new_password_confirm",
            "Passwords do not match.",
        ),
    ],
)
def test_password_change_refusals(client, make_client, make_user, login, field_error, form, field, message):
    user = make_user()
    login(user)
    other = login(user, target=make_client())
    response = client.post("/me/password", data=form)
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), field)
    assert other.get("/me").status_code == 200  # nothing changed: other sessions live on
    assert _attempt(make_client(), user.mobile, PASSWORD).status_code == 302


def test_new_password_may_not_contain_the_mobile(client, make_user, login, field_error):
    user = make_user()
    login(user)
    new = f"x{user.mobile}"
    response = client.post(
        "/me/password", data={"current_password": PASSWORD, "new_password": new, "new_password_confirm": new}
    )
    assert response.status_code == 422
    assert "must not contain your mobile number" in field_error(response.get_data(as_text=True), "new_password")


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/events", "/events"),
        ("/me/password?tab=1", "/me/password?tab=1"),
        ("https://evil.example/", "/me"),
        ("//evil.example/", "/me"),
        ("/\\evil.example/", "/me"),
        ("\\\\evil.example", "/me"),
        ("javascript:alert(1)", "/me"),
        ("http:/evil.example", "/me"),
        ("evil.example", "/me"),
    ],
)
def test_login_next_redirects_only_to_local_paths(client, make_user, target, expected):
    user = make_user()
    response = client.post("/login", query_string={"next": target}, data={"mobile": user.mobile, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_pages_that_need_login_send_there_with_next(client):
    response = client.get("/me")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fme"


def test_disabled_account_cannot_log_in(client, make_user, db):
    user = make_user()
    user.is_disabled = True
    db.session.commit()
    assert _attempt(client, user.mobile, PASSWORD).status_code == 401


def test_disabling_ends_a_live_session(client, make_user, login, db):
    user = make_user()
    login(user)
    user.is_disabled = True
    db.session.commit()
    assert client.get("/me").status_code == 302
