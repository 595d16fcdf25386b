"""Fixtures for the check-in rules: the events factories, people, a shift under way with an assigned
volunteer, token helpers and readers of what a scan left behind (attendance, scan log, audit)."""
from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.models import AuditLog, Role
from checkin.models import Attendance, Scan
from checkin.tokens import badge_token, kiosk_token
from events.models import Assignment, AssignmentStatus, Shift


def _events_factories():
    """tests/events/conftest.py, loaded by path: its factories (make_event, make_shift, ...) serve here too."""
    path = Path(__file__).resolve().parents[2] / "events" / "conftest.py"
    spec = importlib.util.spec_from_file_location("checkin_core_events_factories", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_factories = _events_factories()
now = _factories.now
local_time = _factories.local_time
make_event = _factories.make_event
make_position = _factories.make_position
make_shift = _factories.make_shift
make_skill = _factories.make_skill
make_credential_type = _factories.make_credential_type


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language (Chinese); these tests read English."""
    with force_locale("en"):
        yield


@pytest.fixture
def volunteer(make_user):
    """A plain adult volunteer of 南城街道志愿服务队."""
    return make_user(name="陈小明")


@pytest.fixture
def coordinator(make_user, orgs):
    """A coordinator of 南城街道, where the events are organized."""
    return make_user(name="黄队长", organization=orgs["nancheng"], role=Role.COORDINATOR, role_org=orgs["nancheng"])


@pytest.fixture
def outsider(make_user, orgs):
    """A coordinator of 东城街道: no say over 南城街道's events."""
    return make_user(name="李队长", organization=orgs["dongcheng"], role=Role.COORDINATOR, role_org=orgs["dongcheng"])


@pytest.fixture
def assign(db):
    """assign(shift, user, status="assigned") -> Assignment, committed, holding a place on the shift."""

    def make(shift: Shift, user, status: str = AssignmentStatus.ASSIGNED.value) -> Assignment:
        assignment = Assignment(shift_id=shift.id, user_id=user.id, starts_at=shift.starts_at, ends_at=shift.ends_at,
                                status=status, source="coordinator")
        db.session.add(assignment)
        shift.assigned_count += 1
        db.session.commit()
        return assignment

    return make


@pytest.fixture
def event(make_event, now):
    """A published 南城街道 event that started an hour ago; check-in opens 30 minutes before each shift."""
    return make_event(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=9),
                      signup_opens_at=now - timedelta(days=5), signup_closes_at=now + timedelta(hours=9))


@pytest.fixture
def position(make_position, event):
    return make_position(event, name="引导")


@pytest.fixture
def shift(make_shift, position, now):
    """Under way: from an hour ago until two hours from now."""
    return make_shift(position, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2))


@pytest.fixture
def assignment(assign, shift, volunteer):
    """The volunteer is assigned to the shift under way."""
    return assign(shift, volunteer)


@pytest.fixture
def kiosk(event):
    """kiosk(at, shift=None, event=None) -> the kiosk token shown at `at`."""
    return lambda at, shift=None, of=None: kiosk_token((of or event).id, shift_id=shift.id if shift else None,
                                                       now=at)


@pytest.fixture
def badge():
    """badge(user, at) -> the user's badge token shown at `at`."""
    return lambda user, at: badge_token(user.id, now=at)


@pytest.fixture
def attendances(db):
    """attendances(user) -> that user's attendance rows, oldest first (read afresh)."""

    def read(user) -> list[Attendance]:
        db.session.expire_all()
        return list(db.session.scalars(select(Attendance).where(Attendance.user_id == user.id)
                                       .order_by(Attendance.id)))

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
def audits(db):
    """audits(action) -> audit entries with that action, oldest first."""
    return lambda action: list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)
                                                  .order_by(AuditLog.id)))
