"""Fixtures for the check-in API (POST /api/v1/scans, /api/v1/kiosk-scans).

The API clients come from tests/api/conftest.py (every answer is checked against the OpenAPI
document) and the event factories from tests/events/conftest.py, both loaded by path. Here:
the people, an event under way with a shift and an assigned volunteer, token makers, and
readers of what the scans left in the database.
"""
from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import Role
from checkin.models import Attendance, Scan
from checkin.tokens import badge_token, kiosk_token
from events.models import Assignment, AssignmentStatus, Shift

TESTS = Path(__file__).resolve().parents[2]


def _load(relative: str, name: str):
    spec = importlib.util.spec_from_file_location(name, TESTS / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_api = _load("api/conftest.py", "checkin_api_api_fixtures")
_events = _load("events/conftest.py", "checkin_api_events_factories")

ApiClient = _api.ApiClient
document = _api.document
anonymous = _api.anonymous
session_api = _api.session_api
token_api = _api.token_api
now = _events.now
local_time = _events.local_time
make_event = _events.make_event
make_position = _events.make_position
make_shift = _events.make_shift


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
def event(make_event, now):
    """A published 南城街道 event that started an hour ago."""
    return make_event(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=9),
                      signup_opens_at=now - timedelta(days=5), signup_closes_at=now + timedelta(hours=9))


@pytest.fixture
def shift(make_position, make_shift, event, now):
    """A 引导 shift under way: from an hour ago until two hours from now."""
    return make_shift(make_position(event, name="引导"), starts_at=now - timedelta(hours=1),
                      ends_at=now + timedelta(hours=2))


@pytest.fixture
def assign(db):
    """assign(shift, user) -> Assignment, committed, holding a place on the shift."""

    def make(shift: Shift, user) -> Assignment:
        assignment = Assignment(shift_id=shift.id, user_id=user.id, starts_at=shift.starts_at, ends_at=shift.ends_at,
                                status=AssignmentStatus.ASSIGNED.value, source="coordinator")
        db.session.add(assignment)
        shift.assigned_count += 1
        db.session.commit()
        return assignment

    return make


@pytest.fixture
def assignment(assign, shift, volunteer):
    """The volunteer is assigned to the shift under way."""
    return assign(shift, volunteer)


@pytest.fixture
def badge(now):
    """badge(user, at=now) -> the user's badge token shown at `at`."""
    return lambda user, at=None: badge_token(user.id, now=at or now)


@pytest.fixture
def kiosk(event, now):
    """kiosk(at=now, of=event, shift=None) -> the kiosk token shown at `at`."""
    return lambda at=None, of=None, shift=None: kiosk_token((of or event).id, shift_id=shift.id if shift else None,
                                                            now=at or now)


@pytest.fixture
def scanner(token_api, coordinator):
    """The coordinator's scanner app, calling with a personal API token."""
    return token_api(coordinator)


@pytest.fixture
def scan_body(event):
    """scan_body(*scans, device_id="gate-1", event_id=event.id) -> a POST /scans body."""

    def make(*scans: dict, device_id: str = "gate-1", event_id: int | None = None) -> dict:
        return {"event_id": event_id or event.id, "device_id": device_id, "scans": list(scans)}

    return make


@pytest.fixture
def attendances(db):
    """attendances(user) -> that user's attendance rows, oldest first (read afresh)."""

    def read(user) -> list[Attendance]:
        db.session.expire_all()
        return list(db.session.scalars(select(Attendance).where(Attendance.user_id == user.id)
                                       .order_by(Attendance.id)))

    return read


@pytest.fixture
def scan_log(db):
    """scan_log(**filters) -> scan log rows matching column == value filters, oldest first (read afresh)."""

    def read(**filters) -> list[Scan]:
        db.session.expire_all()
        statement = select(Scan).order_by(Scan.id)
        for name, value in filters.items():
            statement = statement.where(getattr(Scan, name) == value)
        return list(db.session.scalars(statement))

    return read
