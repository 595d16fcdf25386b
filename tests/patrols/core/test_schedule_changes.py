"""Changing a schedule: empty future patrols follow it, patrols with volunteers stay and the river chief is told."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from events.models import Assignment, Shift
from events.signup import services as signup
from notifications.models import Notification
from notifications.services import render
from patrols.segments.models import PatrolShift
from patrols.segments.schedules import ScheduleData, update_schedule
from tests.support import local_utc as local

UTC = UTC
NOW = local(2026, 1, 27, 10)


def _data(schedule, **changes) -> ScheduleData:
    values = {
        "weekdays": schedule.weekday_numbers,
        "starts_local": schedule.starts_local,
        "ends_local": schedule.ends_local,
        "headcount": schedule.headcount,
        "valid_from": schedule.valid_from,
        "valid_until": schedule.valid_until,
        "meeting_point": schedule.meeting_point,
        "is_active": schedule.is_active,
    }
    values.update(changes)
    return ScheduleData(**values)


def _on(shifts, day: date):
    return next(shift for d, shift in shifts if d == day)


def _chief_notes(db, chief):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == chief.id, Notification.kind == "patrol_shift_kept")
        )
    )


def test_new_time_and_headcount_move_empty_patrols_and_keep_taken_ones(
    db, make_segment, make_schedule, patrol_shifts, volunteer, coordinator, chief
):
    segment = make_segment(now=NOW)
    schedule = make_schedule(segment, now=NOW, starts=time(9), ends=time(11), headcount=3)
    taken = _on(patrol_shifts(segment), date(2026, 2, 7))
    signup.sign_up(taken, volunteer, now=NOW)
    db.session.commit()

    change = update_schedule(
        schedule,
        _data(schedule, starts_local=time(10), ends_local=time(12), headcount=5),
        by=coordinator,
        now=NOW + timedelta(hours=1),
    )
    db.session.commit()

    shifts = patrol_shifts(segment)
    assert (change.updated, change.removed, change.created, len(change.kept)) == (3, 0, 0, 1)
    for day in (date(2026, 1, 31), date(2026, 2, 14), date(2026, 2, 21)):
        moved = _on(shifts, day)
        assert moved.starts_at == datetime(day.year, day.month, day.day, 2, tzinfo=UTC) and moved.capacity == 5
    kept = _on(shifts, date(2026, 2, 7))
    assert (kept.id, kept.starts_at, kept.capacity, kept.assigned_count) == (
        taken.id,
        datetime(2026, 2, 7, 1, tzinfo=UTC),
        3,
        1,
    )
    [note] = _chief_notes(db, chief)
    title, body = render(note)
    assert title == "Patrol left unchanged"
    assert body == (
        f"The patrol schedule changed, but {taken.event.title} · Patrol, 2026-02-07 09:00, "
        "already has volunteers and was left as it was."
    )
    assert note.link == f"/patrols/segments/{segment.id}"


def test_a_removed_weekday_cancels_empty_patrols_and_a_new_one_is_generated(
    db, make_segment, make_schedule, patrol_shifts, volunteer, coordinator, chief
):
    segment = make_segment(now=NOW)
    schedule = make_schedule(segment, now=NOW, weekdays=[5])  # Saturdays
    taken = _on(patrol_shifts(segment), date(2026, 1, 31))
    signup.sign_up(taken, volunteer, now=NOW)
    db.session.commit()

    change = update_schedule(schedule, _data(schedule, weekdays=[6]), by=coordinator, now=NOW)  # Sundays instead
    db.session.commit()

    days = [d for d, _s in patrol_shifts(segment)]
    assert days == [date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 8), date(2026, 2, 15), date(2026, 2, 22)]
    assert (change.removed, change.created, len(change.kept)) == (3, 4, 1)
    assert db.session.scalar(select(func.count(Shift.id)).where(Shift.event_id == segment.event_id)) == 5
    [note] = _chief_notes(db, chief)
    assert "2026-01-31 09:00" in render(note)[1]


def test_a_shift_whose_only_volunteer_cancelled_counts_as_empty(
    db, make_segment, make_schedule, patrol_shifts, volunteer, coordinator, chief
):
    segment = make_segment(now=NOW)
    schedule = make_schedule(segment, now=NOW)
    shift = _on(patrol_shifts(segment), date(2026, 2, 14))
    assignment = signup.sign_up(shift, volunteer, now=NOW)
    signup.cancel_assignment(assignment, by=volunteer, now=NOW)
    db.session.commit()

    change = update_schedule(schedule, _data(schedule, weekdays=[6]), by=coordinator, now=NOW)
    db.session.commit()

    assert change.kept == [] and change.removed == 4
    assert _chief_notes(db, chief) == []
    # the cancelled shift is kept as history (its cancelled assignment points at it), unlinked from the schedule
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).is_cancelled
    assert db.session.scalar(select(PatrolShift.id).where(PatrolShift.shift_id == shift.id)) is None
    assert db.session.get(Assignment, assignment.id) is not None


def test_past_patrols_are_never_touched(db, make_segment, make_schedule, patrol_shifts, coordinator):
    segment = make_segment(now=NOW)
    schedule = make_schedule(segment, now=NOW)
    later = local(2026, 2, 9, 10)  # 1/31 and 2/7 are over

    change = update_schedule(schedule, _data(schedule, headcount=8), by=coordinator, now=later)
    db.session.commit()

    capacities = {d: s.capacity for d, s in patrol_shifts(segment)}
    assert capacities[date(2026, 1, 31)] == 3 and capacities[date(2026, 2, 7)] == 3
    assert capacities[date(2026, 2, 14)] == 8 and capacities[date(2026, 3, 7)] == 8
    assert change.updated == 2 and change.created == 2  # 2/28 and 3/7: within four weeks of 2/9


def test_deactivating_the_segment_cancels_its_empty_patrols(
    db, make_segment, make_schedule, patrol_shifts, segment_data, volunteer, coordinator, chief
):
    from patrols.segments.services import update_segment

    segment = make_segment(now=NOW)
    make_schedule(segment, now=NOW)
    taken = _on(patrol_shifts(segment), date(2026, 2, 21))
    signup.sign_up(taken, volunteer, now=NOW)
    db.session.commit()

    update_segment(segment, segment_data(name=segment.name, is_active=False), by=coordinator, now=NOW)
    db.session.commit()

    assert [d for d, _s in patrol_shifts(segment)] == [date(2026, 2, 21)]
    assert len(_chief_notes(db, chief)) == 1


def test_an_invalid_schedule_is_refused_with_its_field(db, make_segment, make_schedule, coordinator):
    import pytest

    from app.errors import ValidationFailed

    segment = make_segment(now=NOW)
    schedule = make_schedule(segment, now=NOW)
    for changes, field in (
        ({"weekdays": []}, "weekdays"),
        ({"ends_local": time(8)}, "ends_local"),
        ({"headcount": 0}, "headcount"),
        ({"valid_until": date(2026, 1, 1)}, "valid_until"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            update_schedule(schedule, _data(schedule, **changes), by=coordinator, now=NOW)
        db.session.rollback()
        assert refused.value.field == field
