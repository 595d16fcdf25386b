"""GET /healthz: JSON saying whether the database answers; no login, no session, no rate limit."""

from __future__ import annotations

from composition import create_app
from tests.support import running


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_needs_no_login_and_sets_no_cookie(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert not response.headers.getlist("Set-Cookie")


def test_healthz_is_exempt_from_a_default_rate_limit(database_url):
    application = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_DEFAULT": "3 per minute"})
    from app.extensions import limiter

    try:
        with running(application):
            client = application.test_client()
            pages = [client.get("/login").status_code for _ in range(4)]
            health = {client.get("/healthz").status_code for _ in range(10)}
    finally:
        # Flask-Limiter keeps the first default limits it saw; don't leak this one into later tests.
        limiter.limit_manager.set_default_limits([])
    assert pages[-1] == 429  # the limit is in force...
    assert health == {200}  # ...but not for the health check


def test_healthz_says_when_the_database_does_not_answer(tmp_path):
    unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'volunteers.db'}"
    application = create_app("testing", {"SQLALCHEMY_DATABASE_URI": unreachable})
    with running(application):
        response = application.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "unavailable"}
