"""Parallel scans of one volunteer: exactly one check-in, the rest repeats or refusals, never a 500.

Each thread has its own app context, session and connection, released together by a Barrier.
The PostgreSQL variants (marked `postgres`) run when TEST_DATABASE_URL points at PostgreSQL,
where row locks make the race real; the SQLite variants run the same scenarios on the file database.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from checkin.models import Attendance, Scan
from checkin.scanning.services import ScanRefused, scan_badge, scan_kiosk
from checkin.tokens import badge_token, kiosk_token
from events.models import Event
from tests.parallel import BACKENDS, pool_for, run_together
from volunteers.accounts.models import User

THREADS = 20


@pytest.fixture
def app_overrides():
    """One connection per thread: 20 truly parallel transactions."""
    return pool_for(THREADS)


def scan_together(app, acts) -> list:
    """Run each act() in its own thread and session, all at once; a refusal is committed (it is logged)."""
    return run_together(app, acts, refusals=(ScanRefused,), commit_refusals=True)


def outcome(result) -> str:
    return result.code if isinstance(result, ScanRefused) else f"{result.action}:{result.result}"


def check_one_check_in(volunteer_id: int) -> None:
    _db.session.expire_all()
    assert _db.session.scalar(select(func.count(Attendance.id)).where(Attendance.user_id == volunteer_id)) == 1
    assert (
        _db.session.scalar(select(func.count(Scan.id)).where(Scan.user_id == volunteer_id, Scan.action == "check_in"))
        == 1
    )
    assert _db.session.scalar(select(func.count(Scan.id)).where(Scan.user_id == volunteer_id)) == THREADS


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_badge_scans_on_one_device(app, event, shift, assignment, volunteer, coordinator, now, backend):
    event_id, volunteer_id, coordinator_id = event.id, volunteer.id, coordinator.id
    token = badge_token(volunteer_id, now=now)

    def act(i):
        return lambda: scan_badge(
            token,
            _db.session.get(Event, event_id),
            by=_db.session.get(User, coordinator_id),
            now=now,
            device_id="gate-1",
            client_scan_id=f"scan-{i}",
        )

    results = scan_together(app, [act(i) for i in range(THREADS)])
    assert Counter(map(outcome, results)) == {"check_in:ok": 1, "none:repeat": THREADS - 1}
    check_one_check_in(volunteer_id)


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_devices_scan_the_same_badge(app, event, shift, assignment, volunteer, coordinator, now, backend):
    event_id, volunteer_id, coordinator_id = event.id, volunteer.id, coordinator.id
    token = badge_token(volunteer_id, now=now)

    def act(i):
        return lambda: scan_badge(
            token,
            _db.session.get(Event, event_id),
            by=_db.session.get(User, coordinator_id),
            now=now,
            device_id=f"phone-{i}",
            client_scan_id="1",
        )

    results = scan_together(app, [act(i) for i in range(THREADS)])
    assert Counter(map(outcome, results)) == {"check_in:ok": 1, "token_replayed": THREADS - 1}
    check_one_check_in(volunteer_id)


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_kiosk_scans_by_one_volunteer(app, event, shift, assignment, volunteer, now, backend):
    volunteer_id = volunteer.id
    token = kiosk_token(event.id, shift_id=None, now=now)

    def act():
        return scan_kiosk(token, _db.session.get(User, volunteer_id), now=now)

    results = scan_together(app, [act] * THREADS)
    assert Counter(map(outcome, results)) == {"check_in:ok": 1, "none:repeat": THREADS - 1}
    check_one_check_in(volunteer_id)
