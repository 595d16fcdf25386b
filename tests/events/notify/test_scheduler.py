"""The scheduler runs in exactly one process: the database lock, failover, and the run loop."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db as _db
from app.scheduling.jobs import JobRun, period_key
from app.scheduling.lock import AdvisoryLock, RowLock, SchedulerLock, make_lock
from app.scheduling.scheduler import registered_jobs, run_scheduler
from app.timeutil import utcnow

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="advisory locks need PostgreSQL")


def _wait_for(condition, timeout: float = 20.0) -> bool:
    """Poll until `condition()` holds (a wait for an event, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def row_lock(db):
    """row_lock(holder, timeout_seconds=60) -> a RowLock on the test database."""
    made = []

    def make(holder: str, timeout_seconds: int = 60) -> RowLock:
        lock = RowLock(db.engine, "scheduler", holder, timedelta(seconds=timeout_seconds))
        made.append(lock)
        return lock

    yield make
    for lock in made:
        lock.release()


@pytest.fixture
def advisory_lock(db):
    """advisory_lock(holder) -> an AdvisoryLock with its own connection; all closed after the test."""
    made = []

    def make(holder: str) -> AdvisoryLock:
        lock = AdvisoryLock(db.engine.url, "scheduler-test", holder)
        made.append(lock)
        return lock

    yield make
    for lock in made:
        lock.dispose()


def test_row_lock_is_exclusive_until_released(row_lock, now):
    first, second = row_lock("host-a:1"), row_lock("host-b:2")

    assert first.acquire(now)
    assert not second.acquire(now)
    assert first.refresh(now + timedelta(seconds=10))
    assert not second.acquire(now + timedelta(seconds=20))
    assert first.holder() == "host-a:1"

    first.release()

    assert second.acquire(now + timedelta(seconds=21))
    assert second.holder() == "host-b:2"
    assert not first.acquire(now + timedelta(seconds=22))


def test_row_lock_taken_over_after_a_stale_heartbeat(db, row_lock, now):
    first, second = row_lock("host-a:1", 60), row_lock("host-b:2", 60)
    assert first.acquire(now)
    assert first.refresh(now + timedelta(seconds=30))

    assert not second.acquire(now + timedelta(seconds=89))  # last heartbeat 59 s ago: still alive
    assert second.acquire(now + timedelta(seconds=91))  # 61 s without a heartbeat: the holder is gone

    assert not first.refresh(now + timedelta(seconds=92))  # the old holder learns it lost the lock
    assert not first.acquire(now + timedelta(seconds=92))
    rows = db.session.scalars(select(SchedulerLock)).all()
    assert [(row.holder_id, row.heartbeat_at) for row in rows] == [("host-b:2", now + timedelta(seconds=91))]


def test_make_lock_uses_advisory_lock_on_postgresql_and_a_row_elsewhere(app):
    lock = make_lock(app, holder_id="me")
    try:
        assert lock.kind == ("advisory" if ON_POSTGRES else "row")
    finally:
        lock.dispose()


@postgres_only
def test_advisory_lock_is_exclusive_until_released(advisory_lock, now):
    first, second = advisory_lock("a"), advisory_lock("b")

    assert first.acquire(now)
    assert not second.acquire(now)
    assert first.refresh(now)
    assert first.holder() == "scheduler a"

    first.release()

    assert second.acquire(now)
    assert not first.acquire(now)


@postgres_only
def test_advisory_lock_freed_when_the_holder_dies(db, advisory_lock, now):
    first, second = advisory_lock("a"), advisory_lock("b")
    assert first.acquire(now)

    # The holder's process dies: PostgreSQL ends its session without any unlock.
    pid = first.connection.scalar(text("SELECT pg_backend_pid()"))
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    assert _wait_for(lambda: second.acquire(now))  # the standby gets it as soon as the session is gone
    assert not first.refresh(now)


def _start_scheduler(app, **kwargs):
    stop, acquired = threading.Event(), threading.Event()
    lock = make_lock(app, **kwargs)
    thread = threading.Thread(
        target=run_scheduler,
        daemon=True,
        kwargs={"app": app, "stop": stop, "lock": lock, "on_acquired": lambda _lock: acquired.set()},
    )
    thread.start()
    return stop, acquired, thread, lock


def test_a_second_scheduler_stands_by_and_takes_over_when_the_first_stops(app, db, now):
    stop_a, acquired_a, thread_a, lock_a = _start_scheduler(app, holder_id="scheduler-a")
    assert acquired_a.wait(20)
    stop_b, acquired_b, thread_b, lock_b = _start_scheduler(app, holder_id="scheduler-b")
    try:
        # A ran its jobs at start: the reminders job recorded its run for this period.
        assert _wait_for(lambda: _job_ran(db, "reminders"))
        assert not acquired_b.wait(1.0)  # B keeps retrying (every 0.2 s) and does not get in
        assert lock_b.kind == lock_a.kind

        stop_a.set()
        thread_a.join(30)
        assert not thread_a.is_alive()

        assert acquired_b.wait(20)  # B took over on its own
    finally:
        stop_a.set()
        stop_b.set()
        thread_a.join(30)
        thread_b.join(30)
    assert not thread_b.is_alive()


def _job_ran(db, job: str) -> bool:
    with db.engine.connect() as conn:
        return conn.scalar(select(JobRun.id).where(JobRun.job == job).limit(1)) is not None


def test_a_scheduler_that_loses_its_lock_stops_its_jobs_and_stands_by(app, db, caplog):
    caplog.set_level(logging.INFO, logger="app.scheduling.scheduler")
    stop, acquired, thread, lock = _start_scheduler(app, holder_id="scheduler-a")
    try:
        assert acquired.wait(20)
        if lock.kind == "row":
            # Another instance saw no heartbeat for longer than the timeout (its clock an hour ahead).
            usurper = RowLock(lock.engine, "scheduler", "scheduler-b", timedelta(seconds=60))
            assert usurper.acquire(utcnow() + timedelta(hours=1))
        else:
            # The holder's database session is killed; a standby grabs the lock at once.
            usurper = AdvisoryLock(db.engine.url, "scheduler", "scheduler-b")
            with db.engine.connect() as conn:
                assert conn.scalar(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = 'scheduler scheduler-a'"
                    )
                )
            assert _wait_for(lambda: usurper.acquire(utcnow()))

        assert _wait_for(lambda: "scheduler stopped (lock lost)" in caplog.text)
        assert thread.is_alive()  # back to standing by, not crashed
        assert "scheduler-b" in usurper.holder()
    finally:
        stop.set()
        thread.join(30)
    usurper.release()
    usurper.dispose()


def test_jobs_are_registered_with_their_periods(now):
    jobs = registered_jobs()

    assert set(jobs) >= {"reminders", "email_outbox", "credentials", "housekeeping"}
    assert jobs["reminders"].every == timedelta(minutes=5)
    assert period_key(now.replace(minute=7, second=31), timedelta(minutes=5)).endswith(":05:00Z")


def test_cli_lists_jobs_and_status(app, now):
    runner = app.test_cli_runner()
    runner.invoke(args=["scheduler", "run-once", "housekeeping", "--at", now.isoformat()])

    listed = runner.invoke(args=["scheduler", "jobs"])
    status = runner.invoke(args=["scheduler", "status"])

    assert listed.exit_code == 0 and "reminders" in listed.output
    assert status.exit_code == 0, status.output
    assert "lock (" in status.output and "free" in status.output
    assert "housekeeping" in status.output and "ok" in status.output


def test_web_app_does_not_start_a_scheduler(app, client):
    """Only `flask scheduler run` starts one: serving requests starts no scheduler thread and takes no lock."""
    assert client.get("/healthz").status_code == 200

    assert not any(thread.name == "APScheduler" for thread in threading.enumerate())
    assert db_lock_rows() == []


def db_lock_rows() -> list:
    return _db.session.scalars(select(SchedulerLock)).all()
