"""Fixtures for the sign-up and assignment rules: ways to read what a service left behind (people: tests/conftest.py)."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.audit import AuditLog
from events.models import Assignment
from notifications.models import Notification


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language (Chinese); these tests read English."""
    with force_locale("en"):
        yield


@pytest.fixture
def shift(make_shift):
    """Tomorrow 09:00-12:00 at a published 南城街道 event open for sign-up, 10 places."""
    return make_shift()


@pytest.fixture
def notifications(db):
    """notifications(user, kind=None) -> list of that user's notifications, oldest first."""

    def read(user, kind: str | None = None) -> list[Notification]:
        statement = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        if kind is not None:
            statement = statement.where(Notification.kind == kind)
        return list(db.session.scalars(statement))

    return read


@pytest.fixture
def audit_actions(db):
    """audit_actions(assignment) -> the audit actions recorded for an assignment, in order."""

    def read(assignment: Assignment) -> list[str]:
        return list(
            db.session.scalars(
                select(AuditLog.action)
                .where(AuditLog.target_type == "Assignment", AuditLog.target_id == assignment.id)
                .order_by(AuditLog.id)
            )
        )

    return read


@pytest.fixture
def statuses(db):
    """statuses(shift) -> {user_id: status} of the shift's assignments that are assigned or waitlisted."""

    def read(shift) -> dict[int, str]:
        db.session.expire_all()
        rows = db.session.execute(
            select(Assignment.user_id, Assignment.status).where(
                Assignment.shift_id == shift.id, Assignment.status.in_(("assigned", "waitlisted"))
            )
        ).all()
        return dict(rows)

    return read
