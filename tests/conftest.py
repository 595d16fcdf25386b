"""Shared fixtures: a migrated database (SQLite file or PostgreSQL), the app, clients, and the factories.

The schema comes from the Alembic migrations, never from create_all, so the
migrations are tested by every test. SQLite: each test gets a copy of a migrated
template file. PostgreSQL (TEST_DATABASE_URL): tables are truncated after each test.

The factory fixtures (make_org, orgs, make_user, make_event, make_position, make_shift, ...) are thin: the rows
are built by tests/factories.py; shared helpers (PASSWORD, is_postgres, times) are in tests/support.py.
"""

from __future__ import annotations

import itertools
import shutil
from datetime import datetime, timedelta

import pytest
from flask import g
from sqlalchemy import create_engine, inspect, text

from app import dispose_engines
from app.extensions import db as _db
from app.permissions import Role
from app.timeutil import utcnow
from composition import create_app
from events.models import CredentialType, Event, Position, Shift, TeamQuota
from tests import factories, support
from tests.support import PASSWORD, PG_URL, is_postgres
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
    dispose_engines(app)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """Migrate once per session: a template SQLite file, or the PostgreSQL test database."""
    if is_postgres():
        _migrate(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("db") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


_counter = itertools.count()


@pytest.fixture
def database_url(template_database, tmp_path):
    if is_postgres():
        yield template_database
        engine = create_engine(template_database)
        with engine.begin() as conn:
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            if tables:
                conn.execute(
                    text("TRUNCATE TABLE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
                )
        engine.dispose()
    else:
        path = tmp_path / f"test{next(_counter)}.db"
        shutil.copyfile(template_database, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def app_overrides():
    """Override in a test module to change configuration."""
    return {}


def _fresh_request_globals():
    """Start each request with an empty `g`, as in production.

    Requests of a test reuse the fixture's app context (Flask pushes a new one only when none is
    active), and Flask-Login, Flask-Babel and the permission cache keep per-request state in `g`:
    without this, a second client would be logged in as whoever logged in last.
    """
    for name in list(g):
        g.pop(name)


@pytest.fixture
def app(database_url, app_overrides):
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False}
    config.update(app_overrides)
    application = create_app("testing", config)
    application.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    with application.app_context():
        yield application
        _db.session.remove()
    dispose_engines(application)


@pytest.fixture
def db(app):
    return _db


def english_client(app):
    """A test client whose pages are in English (tests assert on English msgids, not on the catalogue)."""
    test_client = app.test_client()
    with test_client.session_transaction() as sess:
        sess["lang"] = "en"
    return test_client


@pytest.fixture
def client(app):
    return english_client(app)


@pytest.fixture
def make_client(app):
    """make_client() -> another independent browser-like client (English)."""
    return lambda: english_client(app)


@pytest.fixture
def make_org(db):
    """make_org(name, kind, parent, short_name="") -> Organization, committed (factories.organization)."""
    return factories.organization


@pytest.fixture
def orgs(db):
    """A small tree: city → 南城街道 (team, branch), 东城街道 (team), 东莞理工学院 (team)."""
    return factories.organization_tree()


@pytest.fixture
def make_user(db, orgs):
    """make_user(organization=orgs["nancheng_team"], role=..., role_org=..., **fields) -> User, committed,
    password PASSWORD (factories.user)."""

    def make(*, organization: Organization | None = None, **fields) -> User:
        return factories.user(organization or orgs["nancheng_team"], **fields)

    return make


# -- the usual people around a 南城街道 event (a folder's conftest may define its own instead) ---------------


@pytest.fixture
def volunteer(make_user):
    """A plain adult volunteer of 南城街道志愿服务队."""
    return make_user(name="陈小明")


@pytest.fixture
def coordinator(make_user, orgs):
    """A coordinator of 南城街道 (the town; events organized there and its teams below it)."""
    return make_user(name="黄队长", organization=orgs["nancheng"], role=Role.COORDINATOR, role_org=orgs["nancheng"])


@pytest.fixture
def outsider(make_user, orgs):
    """A coordinator of 东城街道: no say over 南城街道's events and segments."""
    return make_user(name="李队长", organization=orgs["dongcheng"], role=Role.COORDINATOR, role_org=orgs["dongcheng"])


@pytest.fixture
def login(client):
    """login(user) logs the test client in through the real login form."""

    def do_login(user: User, password: str = PASSWORD, target=None):
        c = target or client
        response = c.post("/login", data={"mobile": user.mobile, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return do_login


# -- events: the test's time and the events factories ------------------------------------------------------


@pytest.fixture
def now() -> datetime:
    """The test's current time (aware UTC), fixed once per test; pass it to services as `now`."""
    return utcnow()


@pytest.fixture
def local_time(now):
    """local_time(days=1, hour=9, minute=0) -> aware UTC datetime of that Asia/Shanghai wall-clock time,
    `days` days after today (local date of `now`)."""

    def make(days: int = 1, hour: int = 9, minute: int = 0) -> datetime:
        return support.local_time(now, days, hour, minute)

    return make


@pytest.fixture
def make_event(db, orgs, now):
    """make_event(organization=orgs["nancheng"], **fields) -> Event, committed (factories.open_event).

    Defaults: community service of orgs["nancheng"], published, tomorrow 08:00-18:00 local,
    sign-up opened a day ago and closing when the event starts, cancel cut-off 24 h.
    Pass status="draft" for an unpublished one; any Event column can be overridden.
    """

    def make(*, organization: Organization | None = None, **fields) -> Event:
        return factories.open_event(organization or orgs["nancheng"], now=now, **fields)

    return make


@pytest.fixture
def make_skill(db):
    """make_skill(name, kind="skill", name_en=name) -> Skill (get or create), committed."""
    return factories.skill


@pytest.fixture
def make_credential_type(db):
    """make_credential_type(name="急救培训合格", valid_days=None) -> CredentialType (get or create), committed."""
    return factories.credential_type


@pytest.fixture
def grant_credential(db, now):
    """grant_credential(user, credential_type, expires_at=None, granted_at=30 days before now) -> Credential."""

    def grant(user: User, credential_type: CredentialType, *, expires_at=None, granted_at=None):
        granted_at = granted_at or now - timedelta(days=30)
        return factories.credential(user, credential_type, granted_at=granted_at, expires_at=expires_at)

    return grant


@pytest.fixture
def make_position(db, make_event):
    """make_position(event=None, name=None, skills=[Skill], credentials=[CredentialType], min_age=0, **fields)
    -> Position, committed (a new default event when none is given)."""

    def make(event: Event | None = None, **fields) -> Position:
        return factories.position(event or make_event(), **fields)

    return make


@pytest.fixture
def make_shift(db, make_position, local_time):
    """make_shift(position=None, starts_at=None, ends_at=None, capacity=10, **fields) -> Shift, committed.

    Defaults: tomorrow 09:00-12:00 Asia/Shanghai (ends 3 h after `starts_at` when only that is given),
    10 places, in a new default position when none is given.
    """

    def make(position: Position | None = None, *, starts_at: datetime | None = None, **fields) -> Shift:
        return factories.shift(position or make_position(), starts_at=starts_at or local_time(1, 9), **fields)

    return make


@pytest.fixture
def make_quota(db):
    """make_quota(position, organization, quantity=5) -> TeamQuota, committed."""

    def make(position: Position, organization: Organization, quantity: int = 5) -> TeamQuota:
        return factories.quota(position, organization, quantity)

    return make
