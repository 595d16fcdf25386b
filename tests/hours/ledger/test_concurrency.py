"""Concurrent decisions and collections: the guarded UPDATE and the unique indexes hold.

Threads with their own app context, session and connection start together (threading.Barrier).
On PostgreSQL the races are real (READ COMMITTED, row locks); on SQLite the writes queue on the
database lock, which the same assertions must survive.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.errors import Conflict
from app.extensions import db as _db
from checkin.models import Attendance
from hours.ledger import services as ledger
from hours.ledger.models import HourEntry, HourEntryEvent, HourSummary
from hours.review.verification import submit_entries, verify_entry
from tests.support import local
from volunteers.accounts.models import User

THREADS = 8


def run_together(app, jobs):
    """Run each job(session-bound) in its own thread and app context at once; commit on success."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(index, job):
        with app.app_context():
            try:
                prepared = job[0]()
                barrier.wait(timeout=60)
                results[index] = job[1](*prepared)
                _db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported to the test
                _db.session.rollback()
                results[index] = error
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_concurrent_verifications_count_once(app, db, people, service, make_attendance, now):
    _event, shift = service
    (entry,) = ledger.record_attendance(
        make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12)), now=now
    )
    submit_entries(entry.event, by=people["coordinator"], now=now)
    db.session.commit()
    entry_id = entry.id
    reviewer_ids = [people["reviewer"].id, people["city_reviewer"].id] * (THREADS // 2)

    def job(reviewer_id):
        prepare = lambda: (_db.session.get(HourEntry, entry_id), _db.session.get(User, reviewer_id))  # noqa: E731 - a one-line step, named for the parallel runner
        act = lambda e, reviewer: verify_entry(e, by=reviewer, now=now)  # noqa: E731 - a one-line step, named for the parallel runner
        return prepare, act

    results = run_together(app, [job(r) for r in reviewer_ids])
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    assert not unexpected, unexpected
    assert sum(r is None for r in results) == 1
    db.session.expire_all()
    assert db.session.get(HourSummary, (people["volunteer"].id, 2026)).scan_minutes == 180
    assert (
        db.session.scalar(select(func.count()).select_from(HourEntryEvent).where(HourEntryEvent.status == "verified"))
        == 1
    )


def test_concurrent_collections_record_an_attendance_once(app, db, people, service, make_attendance, now):
    _event, shift = service
    attendance_id = make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12)).id

    def job():
        prepare = lambda: (_db.session.get(Attendance, attendance_id),)  # noqa: E731 - a one-line step, named for the parallel runner
        act = lambda attendance: len(ledger.record_attendance(attendance, now=now))  # noqa: E731 - a one-line step, named for the parallel runner
        return prepare, act

    results = run_together(app, [job() for _ in range(THREADS)])
    assert not [r for r in results if isinstance(r, Exception)], results
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(HourEntry)) == 1
    assert sum(results) == 1
