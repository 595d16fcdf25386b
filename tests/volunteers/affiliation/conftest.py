"""The cast of the affiliation tests: a volunteer of 南城, staff of 南城, 东城 and 东莞理工学院, a city administrator,
and helpers to read the changes and the volunteer's organization fresh from the database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit import AuditLog
from app.permissions import Role
from volunteers.accounts.models import User
from volunteers.affiliation.models import AffiliationChange


@pytest.fixture
def cast(make_user, orgs):
    """Who acts in these tests; each staff member's role is held at the organization named after them."""
    return {
        "volunteer": make_user(organization=orgs["nancheng_team"], name="陈小明"),
        "nancheng_reviewer": make_user(organization=orgs["nancheng"], role=Role.REVIEWER, name="南城审核员"),
        "nancheng_admin": make_user(organization=orgs["nancheng"], role=Role.ADMIN, name="南城管理员"),
        "nancheng_coordinator": make_user(organization=orgs["nancheng"], role=Role.COORDINATOR, name="南城负责人"),
        "dongcheng_reviewer": make_user(organization=orgs["dongcheng"], role=Role.REVIEWER, name="东城审核员"),
        "dongcheng_admin": make_user(organization=orgs["dongcheng"], role=Role.ADMIN, name="东城管理员"),
        "dgut_admin": make_user(organization=orgs["dgut"], role=Role.ADMIN, name="理工团委管理员"),
        "dgut_reviewer": make_user(organization=orgs["dgut"], role=Role.REVIEWER, name="理工审核员"),
        "city_admin": make_user(organization=orgs["city"], role=Role.ADMIN, name="市管理员"),
    }


@pytest.fixture
def organization_of(db):
    """organization_of(user) -> the id of the user's organization, read fresh."""

    def read(user: User) -> int:
        db.session.expire_all()
        return db.session.scalar(select(User.organization_id).where(User.id == user.id))

    return read


@pytest.fixture
def changes_of(db):
    """changes_of(user) -> the user's AffiliationChange rows, oldest first, read fresh."""

    def read(user: User) -> list[AffiliationChange]:
        db.session.expire_all()
        return list(
            db.session.scalars(
                select(AffiliationChange)
                .where(AffiliationChange.volunteer_id == user.id)
                .order_by(AffiliationChange.id)
            )
        )

    return read


@pytest.fixture
def audit_actions(db):
    """audit_actions(prefix="affiliation.") -> the audit trail's actions with that prefix, oldest first."""

    def read(prefix: str = "affiliation.") -> list[str]:
        db.session.expire_all()
        return list(
            db.session.scalars(select(AuditLog.action).where(AuditLog.action.startswith(prefix)).order_by(AuditLog.id))
        )

    return read


@pytest.fixture
def count_changes(db):
    def count() -> int:
        db.session.expire_all()
        return db.session.scalar(select(func.count(AffiliationChange.id)))

    return count
