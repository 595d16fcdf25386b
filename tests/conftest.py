"""Shared fixtures: a migrated database (SQLite file or PostgreSQL), the app, clients, factories.

The schema comes from the Alembic migrations, never from create_all, so the
migrations are tested by every test. SQLite: each test gets a copy of a migrated
template file. PostgreSQL (TEST_DATABASE_URL): tables are truncated after each test.
"""

from __future__ import annotations

import itertools
import os
import shutil
from datetime import date

import pytest
from flask import g
from sqlalchemy import create_engine, inspect, text

from app import dispose_engines
from app.extensions import db as _db
from app.permissions import Role
from app.security import demo_id_number
from app.timeutil import utcnow
from composition import create_app
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization, OrgKind, RoleGrant

PASSWORD = "Pass-word-123"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def is_postgres() -> bool:
    return PG_URL.startswith("postgresql")


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
    """make_org(name, kind, parent) -> Organization, committed."""
    from volunteers.organizations.services import create_organization

    def make(
        name: str, kind: OrgKind | str = OrgKind.TEAM, parent: Organization | None = None, short_name: str = ""
    ) -> Organization:
        kind_value = kind.value if isinstance(kind, OrgKind) else kind
        org = create_organization(name, kind_value, parent, short_name=short_name or name)
        db.session.commit()
        return org

    return make


@pytest.fixture
def orgs(make_org):
    """A small tree: city → 南城街道 (team, branch), 东城街道 (team), 东莞理工学院 (team)."""
    city = make_org("共青团东莞市委员会", OrgKind.CITY, short_name="团市委")
    nancheng = make_org("南城街道", OrgKind.TOWN, city)
    dongcheng = make_org("东城街道", OrgKind.TOWN, city)
    dgut = make_org("东莞理工学院", OrgKind.UNIVERSITY, city)
    return {
        "city": city,
        "nancheng": nancheng,
        "nancheng_team": make_org("南城街道志愿服务队", OrgKind.TEAM, nancheng),
        "nancheng_branch": make_org("南城阳光社区团支部", OrgKind.BRANCH, nancheng),
        "dongcheng": dongcheng,
        "dongcheng_team": make_org("东城街道志愿者协会", OrgKind.TEAM, dongcheng),
        "dgut": dgut,
        "dgut_team": make_org("东莞理工学院青年志愿者协会", OrgKind.TEAM, dgut),
    }


_people = itertools.count(1)


@pytest.fixture
def make_user(db, orgs):
    """make_user(organization=..., role=..., role_org=..., **fields) -> User, committed, password PASSWORD."""
    from volunteers.accounts.services import ProfileData, register_volunteer

    def make(
        *,
        organization: Organization | None = None,
        role: Role | str | None = None,
        role_org: Organization | None = None,
        name: str | None = None,
        mobile: str | None = None,
        birth: date = date(2000, 1, 1),
        political_status: str = "共青团员",
        **fields,
    ) -> User:
        n = next(_people)
        org = organization or orgs["nancheng_team"]
        user = register_volunteer(
            mobile=mobile or f"139{n:08d}",
            id_number=demo_id_number(birth, n, region=f"{441900 + n // 1000}"),
            password=PASSWORD,
            profile=ProfileData(
                name=name or f"志愿者{n}",
                political_status=political_status,
                organization_id=org.id,
                emergency_contact_name="紧急联系人",
                emergency_contact_mobile="13700000000",
                activist_since=fields.pop("activist_since", None),
                guardian_name=fields.pop("guardian_name", ""),
                guardian_mobile=fields.pop("guardian_mobile", ""),
                guardian_consent=fields.pop("guardian_consent", False),
            ),
            now=utcnow(),
        )
        for key, value in fields.items():
            setattr(user, key, value)
        if role is not None:
            role_value = role.value if isinstance(role, Role) else role
            db.session.add(RoleGrant(user_id=user.id, organization_id=(role_org or org).id, role=role_value))
        db.session.commit()
        return user

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
