"""Capacity and the overlap rule under truly concurrent requests.

Each scenario runs threads with their own app context, session and database connection,
released together by a threading.Barrier. The PostgreSQL variants (marked `postgres`) run
only when TEST_DATABASE_URL points at PostgreSQL, where row locks and READ COMMITTED make
the races real; the SQLite variants run the same scenarios on the file database, where the
guarded UPDATEs take SQLite's write lock (busy_timeout makes the others wait).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from events.models import Assignment, Shift
from events.signup.services import SignupRefused, cancel_assignment, sign_up
from notifications.models import Notification
from tests.parallel import BACKENDS, pool_for, run_together
from volunteers.accounts.models import User

THREADS = 50


@pytest.fixture
def app_overrides():
    """One connection per thread: 50 truly parallel transactions, not 15 queued on the default pool."""
    return pool_for(THREADS)


def sign_up_together(app, jobs) -> list:
    """Run each (prepare, act) job in its own thread and session, all `act`s at once (tests.parallel.run_together);
    a refusal is rolled back and returned. Returns each job's result or refusal, in order."""
    return run_together(app, jobs, refusals=(SignupRefused,))


def _status_counts(shift_id: int) -> Counter:
    _db.session.expire_all()
    return Counter(_db.session.scalars(select(Assignment.status).where(Assignment.shift_id == shift_id)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_fifty_sign_ups_for_ten_places(app, db, make_shift, make_user, now, backend):
    shift_id = make_shift(capacity=10).id
    volunteer_ids = [make_user().id for _ in range(THREADS)]

    def job(user_id):
        prepare = lambda: (db.session.get(Shift, shift_id), db.session.get(User, user_id))  # noqa: E731 - a one-line step, named for the parallel runner
        act = lambda shift, user: sign_up(shift, user, now=now, join_waitlist=True).status  # noqa: E731 - a one-line step, named for the parallel runner
        return prepare, act

    results = sign_up_together(app, [job(user_id) for user_id in volunteer_ids])
    assert Counter(results) == {"assigned": 10, "waitlisted": 40}
    assert _status_counts(shift_id) == {"assigned": 10, "waitlisted": 40}
    assert db.session.get(Shift, shift_id).assigned_count == 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_volunteer_five_overlapping_shifts_at_once(
    app, db, make_position, make_shift, make_user, now, local_time, backend
):
    position = make_position()
    shift_ids = [make_shift(position, starts_at=local_time(1, 9, minute=10 * i)).id for i in range(5)]
    volunteer_id = make_user().id

    def job(shift_id):
        prepare = lambda: (db.session.get(Shift, shift_id), db.session.get(User, volunteer_id))  # noqa: E731 - a one-line step, named for the parallel runner
        act = lambda shift, user: sign_up(shift, user, now=now).status  # noqa: E731 - a one-line step, named for the parallel runner
        return prepare, act

    results = sign_up_together(app, [job(shift_id) for shift_id in shift_ids])
    assert results.count("assigned") == 1
    assert sorted(r.code for r in results if isinstance(r, SignupRefused)) == ["overlap"] * 4
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Assignment.id)).where(Assignment.user_id == volunteer_id)) == 1
    assert sum(db.session.get(Shift, shift_id).assigned_count for shift_id in shift_ids) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_cancellations_promote_different_people(app, db, make_shift, make_user, now, local_time, backend):
    shift = make_shift(capacity=5, starts_at=local_time(3, 9))
    holders = [sign_up(shift, make_user(), now=now) for _ in range(5)]
    queue = [sign_up(shift, make_user(), now=now + timedelta(seconds=i), join_waitlist=True) for i in range(8)]
    db.session.commit()
    shift_id, holder_ids = shift.id, [a.id for a in holders]
    queue_users = [a.user_id for a in queue]

    def job(assignment_id):
        def prepare():
            assignment = db.session.get(Assignment, assignment_id)
            return assignment, assignment.user

        act = lambda assignment, user: cancel_assignment(assignment, by=user, now=now).status  # noqa: E731 - a one-line step, named for the parallel runner
        return prepare, act

    results = sign_up_together(app, [job(assignment_id) for assignment_id in holder_ids])
    assert results == ["cancelled"] * 5
    assert _status_counts(shift_id) == {"cancelled": 5, "assigned": 5, "waitlisted": 3}
    assert db.session.get(Shift, shift_id).assigned_count == 5
    assigned = set(
        db.session.scalars(
            select(Assignment.user_id).where(Assignment.shift_id == shift_id, Assignment.status == "assigned")
        )
    )
    assert assigned == set(queue_users[:5])  # the five who queued first, each once
    promoted = Counter(db.session.scalars(select(Notification.user_id).where(Notification.kind == "promoted")))
    assert promoted == dict.fromkeys(queue_users[:5], 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_opposite_moves_at_once_neither_deadlock_nor_lose_places(
    app, db, make_position, make_shift, make_user, coordinator, now, local_time, backend
):
    position = make_position()
    morning = make_shift(position, capacity=20, starts_at=local_time(2, 9))
    afternoon = make_shift(position, capacity=20, starts_at=local_time(2, 14))
    from events.signup.services import move

    pairs = [
        (sign_up(shift, make_user(), now=now).id, other.id)
        for shift, other in [(morning, afternoon), (afternoon, morning)]
        for _ in range(10)
    ]
    db.session.commit()
    coordinator_id = coordinator.id

    def job(assignment_id, to_shift_id):
        def prepare():
            return (
                db.session.get(Assignment, assignment_id),
                db.session.get(Shift, to_shift_id),
                db.session.get(User, coordinator_id),
            )

        act = lambda assignment, to_shift, by: move(assignment, to_shift, by=by, now=now).status  # noqa: E731 - a one-line step, named for the parallel runner
        return prepare, act

    results = sign_up_together(app, [job(*pair) for pair in pairs])
    assert results == ["assigned"] * 20
    assert _status_counts(morning.id) == {"assigned": 10, "cancelled": 10}
    assert _status_counts(afternoon.id) == {"assigned": 10, "cancelled": 10}
    assert (db.session.get(Shift, morning.id).assigned_count, db.session.get(Shift, afternoon.id).assigned_count) == (
        10,
        10,
    )
