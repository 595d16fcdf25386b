"""GET /readyz: 200 only when the database answers and its schema is at the migrations' head; 503 with the reason."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import text

from app.ops.observability import migration_revisions
from composition import create_app
from tests.support import running


@contextmanager
def alembic_revision(db, revision: str):
    """The database claims another migration revision for the block (put back afterwards)."""
    current = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": current})
        db.session.commit()


def test_ready_when_the_schema_is_at_the_head(app, client):
    heads, known = migration_revisions(app)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "database": "ok",
        "migrations": "current",
        "revision": list(heads),
        "head": list(heads),
        "redis": "not_used",
    }
    assert len(heads) == 1 and heads[0] in known
    assert response.headers["Cache-Control"] == "no-store"
    assert not response.headers.getlist("Set-Cookie")


def test_not_ready_while_migrations_are_pending(app, db, client):
    heads, known = migration_revisions(app)
    older = sorted(known - set(heads))
    assert older, "the migrations have more than one revision"
    with alembic_revision(db, older[0]):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready" and body["reason"] == "migrations_pending"
    assert body["database"] == "ok" and body["revision"] == [older[0]] and body["head"] == list(heads)
    assert client.get("/readyz").status_code == 200  # ready again once migrated


def test_not_ready_when_the_schema_is_newer_than_the_code(db, client):
    with alembic_revision(db, "9999_from_a_newer_release"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "schema_newer_than_code"
    assert response.get_json()["migrations"] == "ahead"


def test_not_ready_on_an_empty_database(tmp_path):
    application = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}"})
    with running(application):
        response = application.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "not_migrated"
    assert response.get_json()["database"] == "ok"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/no-such-folder/volunteers.db",
        "postgresql+psycopg://postgres@127.0.0.1:1/volunteers?connect_timeout=3",
    ],
)
def test_not_ready_when_the_database_does_not_answer(tmp_path, url):
    application = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url.format(tmp=tmp_path)})
    with running(application):
        client = application.test_client()
        response = client.get("/readyz")
        health = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "database_unavailable"
    assert response.get_json()["database"] == "unavailable"
    assert health.status_code == 200  # alive all the same: restarting the worker would not help
