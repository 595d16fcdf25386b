"""`flask accounts create-admin` on a fresh install: the city committee and its first administrator."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.audit import AuditLog
from app.security import demo_id_number
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization, RoleGrant

ID_NUMBER = demo_id_number(date(1990, 5, 4), 77).value
GOOD = "Dongguan2026"


def _run(app, answers: list[str], *args: str):
    return app.test_cli_runner().invoke(args=["accounts", "create-admin", *args], input="\n".join(answers) + "\n")


def test_a_fresh_install_gets_its_city_committee_and_administrator(app, db, client):
    result = _run(app, ["13900001111", "王主任", ID_NUMBER, GOOD, GOOD, ""])
    assert result.exit_code == 0, result.output
    assert "Created the city committee 共青团东莞市委员会" in result.output
    city = db.session.scalar(select(Organization).where(Organization.parent_id.is_(None)))
    admin = db.session.scalar(select(User).where(User.mobile == "13900001111"))
    assert (city.name, city.short_name) == ("共青团东莞市委员会", "团市委")
    grant = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == admin.id)).one()
    assert (grant.role, grant.organization_id) == ("admin", city.id)
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "role.grant")) == 1
    # the administrator logs in and reaches the organization pages
    assert client.post("/login", data={"mobile": "13900001111", "password": GOOD}).status_code == 302
    assert client.get("/admin/organizations").status_code == 200


def test_a_weak_password_is_refused_and_asked_again(app, db):
    result = _run(
        app, ["13900001112", "李", ID_NUMBER, "short1", "short1", "abcdefghijk", "abcdefghijk", GOOD, GOOD, ""]
    )
    assert result.exit_code == 0, result.output
    assert "at least 10" in result.output or "至少" in result.output
    assert "letters and digits" in result.output or "字母和数字" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_an_existing_mobile_changes_nothing(app, db, orgs, make_user):
    person = make_user(organization=orgs["nancheng"])
    users, grants = (db.session.scalar(select(func.count()).select_from(m)) for m in (User, RoleGrant))
    result = _run(app, [person.mobile])
    assert result.exit_code == 0 and "already exists" in result.output and "nothing changed" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == users
    assert db.session.scalar(select(func.count()).select_from(RoleGrant)) == grants
    assert _run(app, [person.mobile]).exit_code == 0  # and again


def test_with_a_tree_the_admin_joins_its_root(app, db, orgs):
    result = _run(app, ["13900001113", "赵", ID_NUMBER, GOOD, GOOD])
    assert result.exit_code == 0, result.output
    assert "Created the city committee" not in result.output
    assert (
        db.session.scalar(select(func.count()).select_from(Organization).where(Organization.parent_id.is_(None))) == 1
    )
    admin = db.session.scalar(select(User).where(User.mobile == "13900001113"))
    assert admin.organization_id == orgs["city"].id


def test_bad_options_are_refused(app, db):
    assert _run(app, [], "--mobile", "12345").exit_code != 0
    assert _run(app, [], "--mobile", "13900001114", "--name", "钱", "--id-number", "123").exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
