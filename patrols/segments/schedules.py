"""Recurring patrol duty: schedules per segment, the generated patrol shifts, and schedule changes.

Generation (`generate_patrol_shifts`, run by the scheduled job in patrols/tasks.py) creates, for each
active schedule of an active segment, the shifts of the next GENERATION_DAYS local days
(Asia/Shanghai wall-clock times, stored as UTC) in the segment's patrol event. It is idempotent: a
date that already has its patrol_shifts row is skipped, and the unique (schedule_id, local_date)
turns a concurrent run's duplicate into an IntegrityError that only rolls back its own savepoint.

A changed schedule (`update_schedule`) changes the future shifts nobody is on (time, headcount,
meeting point; a day no longer patrolled is cancelled and unlinked), leaves those with volunteers
as they are and tells the river chief about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db, rowcount
from app.permissions import can_manage_segment
from app.timeutil import LOCAL_TZ, local_today
from events.manage.shifts import MAX_HEADCOUNT
from events.models import LIVE_STATUSES, Assignment, AssignmentStatus, Event, EventStatus, Shift
from notifications.services import MESSAGES, notify, shift_params
from patrols.segments.models import PatrolSchedule, PatrolShift, RiverSegment
from volunteers.accounts.models import User

#: how far ahead patrol shifts exist: the next 4 weeks, today included
GENERATION_DAYS = 28
MAX_VALIDITY_DAYS = 366 * 5

#: the message the river chief gets about each patrol a schedule change left alone (volunteers are on it);
#: it takes the usual shift parameters (notifications.services.shift_params)
KEPT_NOTIFICATION = "patrol_shift_kept"
MESSAGES.setdefault(
    KEPT_NOTIFICATION,
    (
        _l("Patrol left unchanged"),
        _l(
            "The patrol schedule changed, but %(event)s · %(position)s, %(start)s, already has volunteers "
            "and was left as it was."
        ),
    ),
)


@dataclass
class ScheduleData:
    """A schedule as a coordinator states it (local wall-clock times, Monday = 0)."""

    weekdays: list[int]
    starts_local: time
    ends_local: time
    headcount: int
    valid_from: date
    valid_until: date | None = None
    meeting_point: str = ""
    is_active: bool = True


@dataclass
class ScheduleChange:
    """What a schedule change did to the future patrol shifts."""

    updated: int = 0
    removed: int = 0
    created: int = 0
    kept: list[PatrolShift] = field(default_factory=list)


def weekday_mask(weekdays: list[int]) -> str:
    """The stored 7-character mask (Monday first) of a list of weekday numbers."""
    chosen = set(weekdays)
    return "".join("1" if day in chosen else "0" for day in range(7))


def schedule_problems(data: ScheduleData) -> dict[str, str]:
    """Every rule the schedule breaks, as {field: readable message}; empty when valid."""
    problems: dict[str, str] = {}
    if not data.weekdays or any(day not in range(7) for day in data.weekdays):
        problems["weekdays"] = _("Choose at least one weekday.")
    if data.ends_local <= data.starts_local:
        problems["ends_local"] = _("The patrol must end after it starts (on the same day).")
    if not 1 <= data.headcount <= MAX_HEADCOUNT:
        problems["headcount"] = _("The headcount must be between 1 and %(max)s.", max=MAX_HEADCOUNT)
    if data.valid_until is not None:
        if data.valid_until < data.valid_from:
            problems["valid_until"] = _("The schedule must end on or after the day it starts.")
        elif (data.valid_until - data.valid_from).days > MAX_VALIDITY_DAYS:
            problems["valid_until"] = _("A schedule may run for at most five years; leave the end empty instead.")
    if len(data.meeting_point.strip()) > 200:
        problems["meeting_point"] = _("The meeting point may be at most 200 characters.")
    return problems


def _check(data: ScheduleData) -> None:
    problems = schedule_problems(data)
    if problems:
        name, message = next(iter(problems.items()))
        raise ValidationFailed(message, field=name, code="invalid_schedule")


def _require_manager(by: User, segment: RiverSegment) -> None:
    if not can_manage_segment(by, segment):
        raise PermissionDenied(_("You do not coordinate this river segment."), code="not_segment_coordinator")


def _apply(schedule: PatrolSchedule, data: ScheduleData) -> None:
    schedule.weekdays = weekday_mask(data.weekdays)
    schedule.starts_local = data.starts_local
    schedule.ends_local = data.ends_local
    schedule.headcount = data.headcount
    schedule.valid_from = data.valid_from
    schedule.valid_until = data.valid_until
    schedule.meeting_point = data.meeting_point.strip()
    schedule.is_active = data.is_active


def _snapshot(schedule: PatrolSchedule) -> dict:
    return {
        "weekdays": schedule.weekdays,
        "starts_local": schedule.starts_local.strftime("%H:%M"),
        "ends_local": schedule.ends_local.strftime("%H:%M"),
        "headcount": schedule.headcount,
        "valid_from": schedule.valid_from.isoformat(),
        "valid_until": schedule.valid_until.isoformat() if schedule.valid_until else None,
        "meeting_point": schedule.meeting_point,
        "is_active": schedule.is_active,
    }


def window(schedule: PatrolSchedule, day: date) -> tuple[datetime, datetime]:
    """The patrol's start and end on a local date, as aware UTC."""
    start = datetime.combine(day, schedule.starts_local, tzinfo=LOCAL_TZ).astimezone(UTC)
    end = datetime.combine(day, schedule.ends_local, tzinfo=LOCAL_TZ).astimezone(UTC)
    return start, end


def patrols_on(schedule: PatrolSchedule, day: date) -> bool:
    """True when the schedule (of an active segment) patrols on this local date."""
    return schedule.segment.is_active and schedule.runs_on(day)


def create_schedule(segment: RiverSegment, data: ScheduleData, *, by: User, now: datetime) -> PatrolSchedule:
    """Add a recurring patrol duty to a segment and create its shifts for the next four weeks."""
    _require_manager(by, segment)
    _check(data)
    schedule = PatrolSchedule(segment=segment, created_by_id=by.id, created_at=now, updated_at=now)
    _apply(schedule, data)
    db.session.add(schedule)
    db.session.flush()
    audit.record(
        "patrol_schedule.create",
        actor=by,
        now=now,
        target=schedule,
        organization_id=segment.team_id,
        after=_snapshot(schedule),
    )
    generate_for_schedule(schedule, now=now)
    return schedule


def update_schedule(schedule: PatrolSchedule, data: ScheduleData, *, by: User, now: datetime) -> ScheduleChange:
    """Change a schedule: empty future shifts follow it, taken ones stay and the river chief is told."""
    segment = schedule.segment
    _require_manager(by, segment)
    _check(data)
    before = _snapshot(schedule)
    _apply(schedule, data)
    schedule.updated_at = now
    db.session.flush()
    change = reconcile_schedule(schedule, now=now)
    change.created = generate_for_schedule(schedule, now=now)
    tell_chief_about_kept(segment, change.kept, now=now)
    audit.record(
        "patrol_schedule.update",
        actor=by,
        now=now,
        target=schedule,
        organization_id=segment.team_id,
        before=before,
        after={
            **_snapshot(schedule),
            "updated": change.updated,
            "removed": change.removed,
            "kept": len(change.kept),
            "created": change.created,
        },
    )
    return change


def _taken(shift_id: int) -> bool:
    """True when somebody is or was on the shift (any assignment not cancelled)."""
    return bool(
        db.session.scalar(
            select(func.count(Assignment.id)).where(
                Assignment.shift_id == shift_id, Assignment.status != AssignmentStatus.CANCELLED.value
            )
        )
    )


def _remove_empty(link: PatrolShift, shift: Shift) -> bool:
    """Cancel an empty shift (guarded: nobody took a place meanwhile) and unlink it; delete it if never used."""
    live = select(Assignment.id).where(Assignment.shift_id == Shift.id, Assignment.status.in_(LIVE_STATUSES)).exists()
    done = rowcount(
        db.session.execute(
            update(Shift)
            .where(Shift.id == shift.id, Shift.assigned_count == 0, Shift.is_cancelled.is_(False), ~live)
            .values(is_cancelled=True)
            .execution_options(synchronize_session=False)
        )
    )
    if done != 1:
        return False
    db.session.execute(delete(PatrolShift).where(PatrolShift.id == link.id))
    used = db.session.scalar(select(func.count(Assignment.id)).where(Assignment.shift_id == shift.id))
    if not used:
        db.session.execute(delete(Shift).where(Shift.id == shift.id))
    return True


def reconcile_schedule(schedule: PatrolSchedule, *, now: datetime) -> ScheduleChange:
    """Bring the schedule's future, empty shifts in line with it; list the taken ones that differ."""
    change = ScheduleChange()
    rows = db.session.execute(
        select(PatrolShift, Shift)
        .join(Shift, Shift.id == PatrolShift.shift_id)
        .where(PatrolShift.schedule_id == schedule.id, Shift.starts_at > now, Shift.is_cancelled.is_(False))
        .order_by(PatrolShift.local_date)
    ).all()
    for link, shift in rows:
        if not patrols_on(schedule, link.local_date):
            if _taken(shift.id) or not _remove_empty(link, shift):
                change.kept.append(link)
            else:
                change.removed += 1
            continue
        starts_at, ends_at = window(schedule, link.local_date)
        wanted = (starts_at, ends_at, schedule.headcount, schedule.meeting_point)
        if (shift.starts_at, shift.ends_at, shift.capacity, shift.meeting_point) == wanted:
            continue
        if _taken(shift.id):
            change.kept.append(link)
            continue
        _stretch_event(schedule.segment, starts_at, ends_at)
        done = rowcount(
            db.session.execute(
                update(Shift)
                .where(Shift.id == shift.id, Shift.assigned_count == 0)
                .values(
                    starts_at=starts_at,
                    ends_at=ends_at,
                    capacity=schedule.headcount,
                    meeting_point=schedule.meeting_point,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if done == 1:
            change.updated += 1
        else:
            change.kept.append(link)
    db.session.expire_all()
    return change


def tell_chief_about_kept(segment: RiverSegment, kept: list[PatrolShift], *, now: datetime) -> int:
    """Tell the segment's river chief about each future patrol a change left alone because volunteers are on it."""
    if segment.chief_id is None:
        return 0
    told = 0
    for link in sorted(kept, key=lambda k: k.local_date):
        shift = db.session.get(Shift, link.shift_id)
        assert shift is not None  # the patrol link's foreign key names it
        told += notify(
            segment.chief_id,
            KEPT_NOTIFICATION,
            now=now,
            link=f"/patrols/segments/{segment.id}",
            params={**shift_params(shift), "segment_id": segment.id},
        )
    return told


def _stretch_event(segment: RiverSegment, starts_at: datetime, ends_at: datetime) -> None:
    """Widen the patrol event's time so it holds a new shift (guarded: it only ever grows)."""
    db.session.execute(
        update(Event)
        .where(Event.id == segment.event_id, Event.ends_at < ends_at)
        .values(ends_at=ends_at)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Event)
        .where(Event.id == segment.event_id, Event.starts_at > starts_at)
        .values(starts_at=starts_at)
        .execution_options(synchronize_session=False)
    )


def _publish(segment: RiverSegment, *, now: datetime) -> None:
    """Publish the patrol event once it has shifts (guarded: a concurrent run publishes it once)."""
    done = rowcount(
        db.session.execute(
            update(Event)
            .where(Event.id == segment.event_id, Event.status == EventStatus.DRAFT.value)
            .values(status=EventStatus.PUBLISHED.value, published_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if done:
        audit.record(
            "event.publish",
            actor=None,
            now=now,
            target=segment.event,
            organization_id=segment.team_id,
            note="patrol shifts generated",
        )


def generate_for_schedule(schedule: PatrolSchedule, *, now: datetime) -> int:
    """Create the schedule's missing shifts for the next GENERATION_DAYS local days; returns how many."""
    segment = schedule.segment
    if segment.event_id is None or segment.position_id is None or not (schedule.is_active and segment.is_active):
        return 0
    assert segment.event is not None  # event_id is set (checked above)
    if segment.event.status == EventStatus.CANCELLED.value:
        return 0  # a coordinator cancelled the patrol event: no new patrols in it
    today = local_today(now)
    days = [today + timedelta(days=n) for n in range(GENERATION_DAYS)]
    have = set(
        db.session.scalars(
            select(PatrolShift.local_date).where(
                PatrolShift.schedule_id == schedule.id,
                PatrolShift.local_date >= days[0],
                PatrolShift.local_date <= days[-1],
            )
        )
    )
    wanted = []
    for day in days:
        if day in have or not patrols_on(schedule, day):
            continue
        starts_at, ends_at = window(schedule, day)
        if starts_at > now:
            wanted.append((day, starts_at, ends_at))
    if not wanted:
        return 0
    _stretch_event(segment, wanted[0][1], wanted[-1][2])
    made = 0
    for day, starts_at, ends_at in wanted:
        try:
            with db.session.begin_nested():
                shift = Shift(
                    event_id=segment.event_id,
                    position_id=segment.position_id,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    capacity=schedule.headcount,
                    assigned_count=0,
                    meeting_point=schedule.meeting_point,
                )
                db.session.add(shift)
                db.session.flush()
                db.session.add(
                    PatrolShift(
                        shift_id=shift.id,
                        segment_id=segment.id,
                        schedule_id=schedule.id,
                        local_date=day,
                        created_at=now,
                    )
                )
                db.session.flush()
        except IntegrityError:
            continue  # a concurrent run made this date's shift first
        made += 1
    if made:
        _publish(segment, now=now)
        db.session.expire(segment.event)
    return made


def generate_patrol_shifts(*, now: datetime) -> int:
    """Create the missing patrol shifts of every active schedule for the next four weeks; returns how many."""
    ids = db.session.scalars(
        select(PatrolSchedule.id)
        .join(RiverSegment, RiverSegment.id == PatrolSchedule.segment_id)
        .where(PatrolSchedule.is_active.is_(True), RiverSegment.is_active.is_(True), RiverSegment.event_id.is_not(None))
        .order_by(PatrolSchedule.id)
    ).all()
    made = 0
    for schedule_id in ids:
        schedule = db.session.get(PatrolSchedule, schedule_id)
        if schedule is not None:
            made += generate_for_schedule(schedule, now=now)
    return made


def local_window_label(schedule: PatrolSchedule) -> str:
    """The schedule's local time window, e.g. "09:00–11:00"."""
    return f"{schedule.starts_local.strftime('%H:%M')}–{schedule.ends_local.strftime('%H:%M')}"
