"""Fixtures of the ledger tests: events, shifts and attendances made directly by tests/factories.py.

Attendances are made as rows, not by the check-in services (which may change under us);
`people` gives the usual cast around 南城街道 (orgs["nancheng"]).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from app.permissions import Role
from events.models import Event, EventKind, Shift
from tests import factories
from tests.support import local


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
    """make_event(starts_at, ends_at, organization=orgs["nancheng"], kind="community") -> Event (护河行动N), committed."""

    def make(
        starts_at: datetime, ends_at: datetime, *, organization=None, kind: str = EventKind.COMMUNITY.value, **fields
    ) -> Event:
        fields.setdefault("title", factories.numbered("护河行动"))
        return factories.event(
            organization or orgs["nancheng"], starts_at=starts_at, ends_at=ends_at, kind=kind, **fields
        )

    return make


@pytest.fixture
def make_shift(db):
    """make_shift(event, starts_at, ends_at) -> Shift (with a position of its own), committed."""

    def make(event: Event, starts_at: datetime, ends_at: datetime) -> Shift:
        position = factories.position(event, commit=False)
        return factories.shift(position, starts_at=starts_at, ends_at=ends_at)

    return make


@pytest.fixture
def make_attendance(db):
    """make_attendance(volunteer, shift, checked_in_at, checked_out_at=None, status=closed, **fields) -> Attendance
    (on a completed assignment of its own), committed."""

    def make(volunteer, shift: Shift, checked_in_at: datetime, checked_out_at: datetime | None = None, **fields):
        assignment = factories.assignment(shift, volunteer, status="completed", source="self", commit=False)
        return factories.attendance(assignment, checked_in_at=checked_in_at, checked_out_at=checked_out_at, **fields)

    return make


@pytest.fixture
def service(make_event, make_shift):
    """A community service of 南城街道 on 2026-02-10, 09:00-12:00 local, with one shift of the same hours."""
    event = make_event(local(2026, 2, 10, 8), local(2026, 2, 10, 18))
    shift = make_shift(event, local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    return event, shift
