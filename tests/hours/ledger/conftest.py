"""Fixtures of the ledger tests: events, shifts and attendances made directly with the models.

Attendances are created with checkin.models (the check-in services may change under us);
`people` gives the usual cast around 南城街道 (orgs["nancheng"]).
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from app.permissions import Role
from app.timeutil import LOCAL_TZ
from checkin.models import Attendance, AttendanceStatus
from events.models import Assignment, Event, EventKind, EventStatus, Position, Shift

_sequence = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware datetime of an Asia/Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.fixture
def app_overrides(tmp_path):
    return {"HOURS_EVIDENCE_DIR": str(tmp_path / "evidence"), "HOURS_EVIDENCE_MAX_BYTES": 64 * 1024}


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' after every service the tests create."""
    return local(2026, 3, 1, 12)


@pytest.fixture
def people(make_user, orgs):
    """Volunteers and staff around 南城街道, with the city's reviewer and coordinator and 东城街道's reviewer."""
    return {
        "volunteer": make_user(name="李志愿"),
        "other_volunteer": make_user(name="王志愿"),
        "coordinator": make_user(name="陈协调", role=Role.COORDINATOR, role_org=orgs["nancheng"]),
        "reviewer": make_user(name="周审核", role=Role.REVIEWER, role_org=orgs["nancheng"]),
        "city_reviewer": make_user(name="黄市审", role=Role.REVIEWER, role_org=orgs["city"]),
        "city_coordinator": make_user(name="郑市协", role=Role.COORDINATOR, role_org=orgs["city"]),
        "dongcheng_reviewer": make_user(
            name="吴东审", organization=orgs["dongcheng_team"], role=Role.REVIEWER, role_org=orgs["dongcheng"]
        ),
    }


@pytest.fixture
def make_event(db, orgs):
    """make_event(starts_at, ends_at, organization=orgs["nancheng"], kind="community") -> Event, committed."""

    def make(
        starts_at: datetime, ends_at: datetime, *, organization=None, kind: str = EventKind.COMMUNITY.value, **fields
    ) -> Event:
        n = next(_sequence)
        event = Event(
            title=f"护河行动{n}",
            kind=kind,
            organization_id=(organization or orgs["nancheng"]).id,
            starts_at=starts_at,
            ends_at=ends_at,
            status=EventStatus.PUBLISHED.value,
            **fields,
        )
        db.session.add(event)
        db.session.commit()
        return event

    return make


@pytest.fixture
def make_shift(db):
    """make_shift(event, starts_at, ends_at) -> Shift (with a position of its own), committed."""

    def make(event: Event, starts_at: datetime, ends_at: datetime) -> Shift:
        position = Position(event_id=event.id, name=f"引导{next(_sequence)}")
        db.session.add(position)
        db.session.flush()
        shift = Shift(event_id=event.id, position_id=position.id, starts_at=starts_at, ends_at=ends_at, capacity=10)
        db.session.add(shift)
        db.session.commit()
        return shift

    return make


@pytest.fixture
def make_attendance(db):
    """make_attendance(volunteer, shift, checked_in_at, checked_out_at=None, status=closed, **fields) -> Attendance."""

    def make(
        volunteer,
        shift: Shift,
        checked_in_at: datetime,
        checked_out_at: datetime | None = None,
        *,
        status: str | None = None,
        **fields,
    ) -> Attendance:
        assignment = Assignment(
            shift_id=shift.id,
            user_id=volunteer.id,
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            status="completed",
        )
        db.session.add(assignment)
        db.session.flush()
        if status is None:
            status = AttendanceStatus.CLOSED.value if checked_out_at else AttendanceStatus.OPEN.value
        changed = checked_out_at or checked_in_at
        attendance = Attendance(
            user_id=volunteer.id,
            event_id=shift.event_id,
            shift_id=shift.id,
            assignment_id=assignment.id,
            checked_in_at=checked_in_at,
            checked_out_at=checked_out_at,
            status=status,
            check_in_method="kiosk",
            check_out_method="kiosk" if checked_out_at else None,
            created_at=checked_in_at,
            updated_at=changed,
            **fields,
        )
        db.session.add(attendance)
        db.session.commit()
        return attendance

    return make


@pytest.fixture
def service(make_event, make_shift):
    """A community service of 南城街道 on 2026-02-10, 09:00-12:00 local, with one shift of the same hours."""
    event = make_event(local(2026, 2, 10, 8), local(2026, 2, 10, 18))
    shift = make_shift(event, local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    return event, shift
