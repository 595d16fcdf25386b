"""Security baseline: headers, session cookies, and the production configuration."""

from __future__ import annotations

import pytest

from app.config import INSECURE_ID_KEY, INSECURE_SECRET_KEY
from composition import create_app
from tests.support import real_keys, running

PAGES = ["/", "/login", "/register", "/events/", "/no-such-page", "/healthz"]


def csp_of(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = csp_of(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    for sources in csp.values():
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources and "*" not in sources


def test_pages_with_personal_data_are_not_cached(client, make_user, login):
    login(make_user())
    response = client.get("/me")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain http outside production


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "the response set no session cookie"
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    user = make_user()
    response = client.post("/login", data={"mobile": user.mobile, "password": "Pass-word-123"})
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development and tests run on plain http


def test_production_cookies_are_secure_and_hsts_is_sent(production_app):
    client = production_app.test_client()
    response = client.get("/login?lang=en")
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert production_app.config["REMEMBER_COOKIE_SECURE"] is True
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(
    "keys, complaint",
    [
        ({"SECRET_KEY": INSECURE_SECRET_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "too-short-a-secret"}, "SECRET_KEY"),
        ({"ID_NUMBER_KEY": INSECURE_ID_KEY}, "ID_NUMBER_KEY"),
        ({"ID_NUMBER_KEY": ""}, "ID_NUMBER_KEY"),
        ({"ID_NUMBER_KEY": "not base64 at all!"}, "ID_NUMBER_KEY"),
        ({"ID_NUMBER_KEY": "c2hvcnQta2V5"}, "ID_NUMBER_KEY"),  # base64 of 9 bytes
    ],
    ids=[
        "default-secret",
        "empty-secret",
        "no-secret",
        "short-secret",
        "default-id-key",
        "empty-id-key",
        "garbled-id-key",
        "short-id-key",
    ],
)
def test_production_refuses_to_start_without_real_keys(database_url, keys, complaint):
    config = {"SQLALCHEMY_DATABASE_URI": database_url, **real_keys(), **keys}
    with pytest.raises(RuntimeError, match=complaint):
        create_app("production", config)


def test_production_starts_with_real_keys_and_without_debug(database_url, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    application = create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url, **real_keys()})
    assert application.debug is False
    assert application.testing is False
    assert application.config["SESSION_COOKIE_SECURE"] is True
    with running(application):
        response = application.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"
