"""Patrol shift generation: the next four weeks in local time, idempotent (twice, and in parallel on PostgreSQL)."""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.scheduling.scheduler import registered_jobs
from events.models import Event, EventKind, EventStatus, Position, Shift
from patrols.segments.models import PatrolShift
from patrols.segments.schedules import generate_patrol_shifts
from patrols.tasks import generate_patrols
from tests.support import local_utc as local

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
UTC = UTC


def test_saturday_patrols_land_on_the_next_four_saturdays_at_01_utc(make_segment, make_schedule, patrol_shifts):
    now = local(2026, 1, 27, 10)  # a Tuesday
    segment = make_segment(now=now)
    make_schedule(segment, now=now, weekdays=[5], starts=time(9), ends=time(11), headcount=4)

    shifts = patrol_shifts(segment)

    assert [day for day, _shift in shifts] == [
        date(2026, 1, 31),
        date(2026, 2, 7),
        date(2026, 2, 14),
        date(2026, 2, 21),
    ]
    assert [s.starts_at for _d, s in shifts] == [
        datetime(2026, 1, 31, 1, tzinfo=UTC),
        datetime(2026, 2, 7, 1, tzinfo=UTC),
        datetime(2026, 2, 14, 1, tzinfo=UTC),
        datetime(2026, 2, 21, 1, tzinfo=UTC),
    ]
    assert all(s.ends_at - s.starts_at == timedelta(hours=2) for _d, s in shifts)
    assert {(s.capacity, s.assigned_count, s.meeting_point) for _d, s in shifts} == {(4, 0, "元美桥")}
    assert {(s.event_id, s.position_id) for _d, s in shifts} == {(segment.event_id, segment.position_id)}


def test_the_segment_has_one_published_patrol_event_organized_by_the_team(db, make_segment, make_schedule, orgs):
    now = local(2026, 1, 27, 10)
    segment = make_segment(now=now)
    event = db.session.get(Event, segment.event_id)
    assert event.status == EventStatus.DRAFT.value  # no shifts yet: volunteers do not see it

    make_schedule(segment, now=now)
    db.session.expire_all()

    assert event.kind == EventKind.RIVER_PATROL.value and event.status == EventStatus.PUBLISHED.value
    assert event.organization_id == orgs["nancheng_team"].id
    assert [p.name for p in event.positions] == ["Patrol"] and segment.position_id == event.positions[0].id
    last_end = db.session.scalar(select(func.max(Shift.ends_at)).where(Shift.event_id == event.id))
    assert event.starts_at <= now and event.ends_at == last_end  # the event's time holds every patrol


def test_every_day_across_a_month_end_and_an_early_start_on_the_previous_utc_day(
    make_segment, make_schedule, patrol_shifts
):
    now = local(2026, 1, 30, 10)  # Friday; today's 07:00 patrol is already over
    segment = make_segment(now=now)
    make_schedule(segment, now=now, weekdays=range(7), starts=time(7), ends=time(8, 30))

    shifts = patrol_shifts(segment)
    days = [day for day, _s in shifts]

    assert days[0] == date(2026, 1, 31) and days[1] == date(2026, 2, 1) and days[-1] == date(2026, 2, 26)
    assert days == [date(2026, 1, 31) + timedelta(days=n) for n in range(27)]
    for day, shift in shifts:  # 07:00 Beijing time is 23:00 UTC of the day before
        assert shift.starts_at == datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=1)


def test_validity_and_inactive_segments_limit_generation(make_segment, make_schedule, patrol_shifts):
    now = local(2026, 1, 27, 10)
    limited = make_segment(now=now)
    make_schedule(limited, now=now, valid_from=date(2026, 2, 2), valid_until=date(2026, 2, 14))
    inactive = make_segment(now=now, is_active=False)
    make_schedule(inactive, now=now)

    assert [day for day, _s in patrol_shifts(limited)] == [date(2026, 2, 7), date(2026, 2, 14)]
    assert patrol_shifts(inactive) == []


def test_generating_again_creates_nothing_new(db, make_segment, make_schedule, patrol_shifts):
    now = local(2026, 1, 27, 10)
    segment = make_segment(now=now)
    make_schedule(segment, now=now)
    before = [(day, shift.id) for day, shift in patrol_shifts(segment)]

    assert generate_patrol_shifts(now=now) == 0
    db.session.commit()
    assert generate_patrol_shifts(now=now + timedelta(minutes=5)) == 0
    db.session.commit()

    assert [(day, shift.id) for day, shift in patrol_shifts(segment)] == before
    assert db.session.scalar(select(func.count(Shift.id))) == 4


def test_a_week_later_the_job_adds_only_the_new_fourth_week(db, make_segment, make_schedule, patrol_shifts):
    now = local(2026, 1, 27, 10)
    segment = make_segment(now=now)
    make_schedule(segment, now=now)

    result = generate_patrols(now + timedelta(days=7))
    again = generate_patrols(now + timedelta(days=7))  # same hour: the run guard answers None
    forced = generate_patrols(now + timedelta(days=7), force=True)  # forced: runs, creates nothing twice

    assert result == {"created": 1} and again is None and forced == {"created": 0}
    assert [day for day, _s in patrol_shifts(segment)][-1] == date(2026, 2, 28)
    assert db.session.scalar(select(func.count(PatrolShift.id))) == 5


def test_the_job_is_registered_with_the_scheduler():
    job = registered_jobs()["patrol_shifts"]

    assert job.func is generate_patrols and job.every == timedelta(hours=1)


def test_the_cli_runs_the_job_by_hand(app, make_segment, make_schedule, patrol_shifts):
    now = local(2026, 1, 27, 10)
    segment = make_segment(now=now)
    make_schedule(segment, now=now)

    out = app.test_cli_runner().invoke(
        args=["scheduler", "run-once", "patrol_shifts", "--at", (now + timedelta(days=14)).isoformat()]
    )

    assert out.exit_code == 0 and "'created': 2" in out.output
    assert len(patrol_shifts(segment)) == 6


@pytest.fixture
def app_overrides():
    """Enough connections for the parallel runs."""
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "max_overflow": 0, "pool_timeout": 60}}


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://...")
def test_parallel_runs_on_postgresql_create_each_patrol_once(app, db, make_segment, make_schedule, patrol_shifts):
    now = local(2026, 1, 27, 10)
    segments = [make_segment(now=now) for _n in range(3)]
    for segment in segments:
        make_schedule(segment, now=now, weekdays=[1, 3, 5])
    db.session.execute(PatrolShift.__table__.delete())
    db.session.execute(Shift.__table__.delete())
    db.session.commit()
    runs = 6
    barrier = threading.Barrier(runs)
    results: list = [None] * runs

    def worker(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                results[index] = generate_patrol_shifts(now=now)
                _db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                _db.session.rollback()
                results[index] = error
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert all(isinstance(r, int) for r in results), results
    per_segment = [len(patrol_shifts(s)) for s in segments]
    assert per_segment == [11, 11, 11]  # Tue, Thu, Sat of four weeks, less 1/27's (already over)
    assert sum(results) == 33
    assert db.session.scalar(select(func.count(Shift.id))) == 33  # no orphan shift from a losing run
    assert db.session.scalar(select(func.count(Position.id))) == 3


def test_a_reactivated_segment_gets_its_patrols_back_and_a_cancelled_event_gets_none(
    db, make_segment, make_schedule, patrol_shifts, segment_data, coordinator
):
    from events.manage.services import cancel_event
    from patrols.segments.services import update_segment

    now = local(2026, 1, 27, 10)
    segment = make_segment(now=now)
    make_schedule(segment, now=now)
    update_segment(segment, segment_data(name=segment.name, is_active=False), by=coordinator, now=now)
    db.session.commit()
    assert patrol_shifts(segment) == []

    update_segment(segment, segment_data(name=segment.name, is_active=True), by=coordinator, now=now)
    db.session.commit()
    assert len(patrol_shifts(segment)) == 4

    cancel_event(db.session.get(Event, segment.event_id), by=coordinator, now=now)
    db.session.commit()
    assert generate_patrol_shifts(now=now + timedelta(days=7)) == 0
