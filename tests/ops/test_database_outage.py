"""The database goes away: pages answer 503 with a clear page in the app's style (JSON under /api/), never a 500,
and the app recovers by itself when the database is back (pool_pre_ping), without a restart."""

from __future__ import annotations

import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.extensions import db as _db
from composition import create_app
from tests.ops.helpers import ON_POSTGRES, TcpRelay, postgres_only, serving
from tests.support import PASSWORD


def assert_unavailable_page(response) -> None:
    """503 with the app's own page: its stylesheet, its navigation, the message, a Retry-After."""
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/css/app.css">' in page
    assert 'class="card error-page"' in page
    assert "The service is temporarily unavailable" in page
    assert "The database is unavailable. Please try again in a moment." in page
    assert response.headers["Retry-After"] == "10"


def assert_unavailable_json(response) -> None:
    assert response.status_code == 503
    assert response.get_json() == {
        "error": {
            "code": "database_unavailable",
            "message": "The database is unavailable. Please try again in a moment.",
        }
    }


def english(application):
    client = application.test_client()
    with client.session_transaction() as session:
        session["lang"] = "en"
    return client


@postgres_only
def test_postgres_goes_away_and_comes_back(database_url, make_user):
    """Through a TCP relay the test cuts: every connection dropped and new ones refused, then restored."""
    from api.tokens import create_token
    from app.timeutil import utcnow

    volunteer = make_user(name="宋志愿")
    _token, api_secret = create_token(volunteer, "phone", by=volunteer, now=utcnow())
    _db.session.commit()
    url = make_url(database_url)
    relay = TcpRelay((url.host or "127.0.0.1", url.port or 5432))
    relay.start()
    relayed = url.set(host="127.0.0.1", port=relay.port, query={"connect_timeout": "3"})
    application = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": relayed.render_as_string(hide_password=False), "WTF_CSRF_ENABLED": False}
    )
    try:
        with serving(application):
            visitor, member = english(application), english(application)
            assert member.post("/login", data={"mobile": volunteer.mobile, "password": PASSWORD}).status_code == 302
            bearer = {"Authorization": f"Bearer {api_secret}", "Accept-Language": "en"}
            assert visitor.get("/events/").status_code == 200
            assert member.get("/me").status_code == 200
            assert member.get("/api/v1/events", headers=bearer).status_code == 200

            relay.stop()  # the database server is gone
            assert_unavailable_page(visitor.get("/events/"))
            assert_unavailable_page(member.get("/me"))  # a logged-in page too, rendered without the database
            assert_unavailable_json(member.get("/api/v1/events", headers=bearer))
            ready = visitor.get("/readyz")
            assert ready.status_code == 503 and ready.get_json()["reason"] == "database_unavailable"
            assert visitor.get("/healthz").status_code == 200

            relay.start()  # it is back: the very next requests work, nobody restarted anything
            assert visitor.get("/events/").status_code == 200
            assert member.get("/me").status_code == 200  # still logged in
            assert member.get("/api/v1/events", headers=bearer).status_code == 200
            assert visitor.get("/readyz").status_code == 200
    finally:
        relay.stop()


@postgres_only
def test_terminated_backends_are_replaced_without_an_error(database_url, make_user):
    """pg_terminate_backend on every connection of the app (a failover, a DBA): the next request is still 200."""
    volunteer = make_user(name="韩志愿")
    name = f"ops-terminate-{uuid.uuid4().hex[:8]}"
    url = make_url(database_url).update_query_dict({"application_name": name})
    application = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False), "WTF_CSRF_ENABLED": False}
    )
    admin = create_engine(database_url)
    try:
        with serving(application):
            client = english(application)
            assert client.post("/login", data={"mobile": volunteer.mobile, "password": PASSWORD}).status_code == 302
            for _ in range(3):
                assert client.get("/me").status_code == 200
            with admin.begin() as connection:
                ended = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"
                    ),
                    {"name": name},
                ).scalar()
            assert ended >= 1
            statuses = [client.get("/me").status_code for _ in range(3)]
            assert statuses == [200, 200, 200]
    finally:
        admin.dispose()


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite variant: its PostgreSQL twins are the outage tests above")
def test_sqlite_file_missing_then_back(tmp_path, template_database):
    """SQLite: the database file's folder is missing (a lost mount): 503; once it is back, 200 again."""
    folder = tmp_path / "mount"
    application = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'volunteers.db'}"})
    with serving(application):
        client = english(application)
        assert_unavailable_page(client.get("/events/"))
        assert_unavailable_json(
            client.get("/api/v1/events", headers={"Authorization": "Bearer dgv_0123456789ab", "Accept-Language": "en"})
        )
        assert client.get("/readyz").status_code == 503
        folder.mkdir()
        shutil.copyfile(template_database, folder / "volunteers.db")
        assert client.get("/events/").status_code == 200
        assert client.get("/readyz").status_code == 200


@pytest.mark.skipif(ON_POSTGRES, reason="a missing table is a ProgrammingError on PostgreSQL, not an outage")
def test_an_operational_error_is_never_a_500(app, client):
    """Any OperationalError (a lock timeout, a missing table) answers 503 too, as JSON to JSON callers."""

    @app.get("/ops-test/broken-query")
    def broken_query():
        _db.session.execute(text("SELECT * FROM no_such_table_anywhere"))
        return "unreachable"

    assert_unavailable_page(client.get("/ops-test/broken-query"))
    assert_unavailable_json(client.get("/ops-test/broken-query", headers={"Accept": "application/json"}))
