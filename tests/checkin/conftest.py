"""Fixtures shared by the check-in tests (core rules, pages, API): a published 南城街道
event with a 引导 shift under way and the volunteer assigned to it, token makers, and readers of what a scan
left behind (attendance, scan log, audit). The people (volunteer, coordinator, outsider) and the events factories
(make_event, make_position, make_shift, now, ...) come from tests/conftest.py; each subfolder's conftest adds what
is its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from checkin.models import Attendance, Scan
from checkin.tokens import badge_token, kiosk_token
from events.models import Assignment, AssignmentStatus, Shift
from tests import factories


@pytest.fixture
def event(make_event, now):
    """A published 南城街道 event, 南城文明交通劝导, that started an hour ago; check-in opens 30 minutes before
    each shift."""
    return make_event(
        title="南城文明交通劝导",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=9),
        signup_opens_at=now - timedelta(days=5),
        signup_closes_at=now + timedelta(hours=9),
    )


@pytest.fixture
def position(make_position, event):
    return make_position(event, name="引导")


@pytest.fixture
def shift(make_shift, position, now):
    """Under way: from an hour ago until two hours from now."""
    return make_shift(position, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2))


@pytest.fixture
def assign(db):
    """assign(shift, user, status="assigned") -> Assignment, committed, holding a place on the shift (whatever
    its status)."""

    def make(shift: Shift, user, status: str = AssignmentStatus.ASSIGNED.value) -> Assignment:
        return factories.assignment(shift, user, status=status, holds_place=True)

    return make


@pytest.fixture
def assignment(assign, shift, volunteer):
    """The volunteer is assigned to the shift under way."""
    return assign(shift, volunteer)


@pytest.fixture
def kiosk(event, now):
    """kiosk(at=now, shift=None, of=event) -> the kiosk token shown at `at` (for one shift, or the whole event)."""
    return lambda at=None, shift=None, of=None: kiosk_token(
        (of or event).id, shift_id=shift.id if shift else None, now=at or now
    )


@pytest.fixture
def badge(now):
    """badge(user, at=now) -> the user's badge token shown at `at`."""
    return lambda user, at=None: badge_token(user.id, now=at or now)


@pytest.fixture
def attendances(db):
    """attendances(user) -> that user's attendance rows, oldest first (read afresh)."""

    def read(user) -> list[Attendance]:
        db.session.expire_all()
        return list(db.session.scalars(select(Attendance).where(Attendance.user_id == user.id).order_by(Attendance.id)))

    return read


@pytest.fixture
def scans(db):
    """scans(**filters) -> scan log rows matching column == value filters, oldest first (read afresh)."""

    def read(**filters) -> list[Scan]:
        db.session.expire_all()
        statement = select(Scan).order_by(Scan.id)
        for name, value in filters.items():
            statement = statement.where(getattr(Scan, name) == value)
        return list(db.session.scalars(statement))

    return read


@pytest.fixture
def scan_log(scans):
    """scan_log(**filters): another name of `scans` (the API tests' word for it)."""
    return scans


@pytest.fixture
def audits(db):
    """audits(action) -> audit entries with that action, oldest first."""
    return lambda action: list(
        db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
    )
