"""Bulk creation of shifts by pattern for multi-day events: positions × days × time slots.

`plan_bulk_shifts` computes exactly the shifts that `create_bulk_shifts` inserts, so the
preview a coordinator sees is what is saved. Times are local (Asia/Shanghai) wall-clock
times, stored as UTC; a slot whose end is not after its start ends the next day.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import insert, select

from app import audit
from app.errors import ValidationFailed
from app.extensions import db
from app.timeutil import LOCAL_TZ, to_local
from events.manage.services import require_manager, require_not_cancelled
from events.manage.shifts import MAX_HEADCOUNT
from events.models import Event, Position, Shift
from volunteers.accounts.models import User

MAX_BULK_SHIFTS = 20_000
MAX_BULK_DAYS = 366
SLOT_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~至到]\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class TimeSlot:
    """A local wall-clock window; ends the next day when `end` is not after `start`."""

    start: time
    end: time

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def on(self, day: date) -> tuple[datetime, datetime]:
        """The slot on a local day, as aware UTC datetimes."""
        starts = datetime.combine(day, self.start, tzinfo=LOCAL_TZ)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        ends = datetime.combine(end_day, self.end, tzinfo=LOCAL_TZ)
        return starts.astimezone(UTC), ends.astimezone(UTC)


@dataclass
class BulkPattern:
    """What the coordinator chose: positions, a date range with weekdays, slots, headcount per position."""

    position_ids: list[int]
    first_day: date
    last_day: date
    weekdays: set[int]
    slots: list[TimeSlot]
    headcounts: dict[int, int]
    meeting_point: str = ""


@dataclass
class PlannedShift:
    """One shift the pattern produces."""

    position_id: int
    position_name: str
    starts_at: datetime
    ends_at: datetime
    capacity: int

    @property
    def local_start(self) -> datetime:
        return to_local(self.starts_at)

    @property
    def local_end(self) -> datetime:
        return to_local(self.ends_at)


@dataclass
class BulkPlan:
    """The shifts to create, and how many the pattern matched that exist already (skipped)."""

    shifts: list[PlannedShift] = field(default_factory=list)
    existing: int = 0

    @property
    def places(self) -> int:
        return sum(s.capacity for s in self.shifts)

    def per_day(self) -> list[tuple[date, int, int]]:
        """(local day, shifts, places) in day order."""
        shifts: Counter = Counter()
        places: Counter = Counter()
        for planned in self.shifts:
            day = planned.local_start.date()
            shifts[day] += 1
            places[day] += planned.capacity
        return [(day, shifts[day], places[day]) for day in sorted(shifts)]


def parse_time_slots(text: str) -> list[TimeSlot]:
    """Slots from text, one per line or comma-separated, like "08:00-12:00"; refuses anything else."""
    slots: list[TimeSlot] = []
    for chunk in re.split(r"[\n,，;；]+", text or ""):
        if not chunk.strip():
            continue
        match = SLOT_PATTERN.match(chunk)
        if not match:
            raise ValidationFailed(
                _('Write each time slot like 08:00-12:00 (not "%(slot)s").', slot=chunk.strip()),
                field="time_slots",
                code="invalid_slot",
            )
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValidationFailed(
                _('"%(slot)s" is not a time of day.', slot=chunk.strip()), field="time_slots", code="invalid_slot"
            )
        slot = TimeSlot(time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2))
        if slot.start == slot.end:
            raise ValidationFailed(
                _("The slot %(slot)s has no length.", slot=slot.label), field="time_slots", code="invalid_slot"
            )
        if slot not in slots:
            slots.append(slot)
    if not slots:
        raise ValidationFailed(_("Enter at least one time slot."), field="time_slots", code="invalid_slot")
    return sorted(slots, key=lambda s: (s.start, s.end))


def pattern_days(pattern: BulkPattern) -> list[date]:
    """The local days in the range that fall on a chosen weekday (Monday = 0)."""
    span = (pattern.last_day - pattern.first_day).days
    return [
        d for d in (pattern.first_day + timedelta(days=i) for i in range(span + 1)) if d.weekday() in pattern.weekdays
    ]


def _check_pattern(event: Event, pattern: BulkPattern) -> list[Position]:
    if not pattern.position_ids:
        raise ValidationFailed(_("Choose at least one position."), field="position_ids", code="invalid_pattern")
    positions = list(
        db.session.scalars(
            select(Position)
            .where(Position.event_id == event.id, Position.id.in_(pattern.position_ids))
            .order_by(Position.id)
        )
    )
    if len(positions) != len(set(pattern.position_ids)):
        raise ValidationFailed(_("Choose positions of this event."), field="position_ids", code="invalid_pattern")
    if pattern.last_day < pattern.first_day:
        raise ValidationFailed(
            _("The last day must not be before the first day."), field="last_day", code="invalid_pattern"
        )
    if (pattern.last_day - pattern.first_day).days >= MAX_BULK_DAYS:
        raise ValidationFailed(
            _("Choose at most %(max)s days.", max=MAX_BULK_DAYS), field="last_day", code="invalid_pattern"
        )
    if not pattern.weekdays:
        raise ValidationFailed(_("Choose at least one weekday."), field="weekdays", code="invalid_pattern")
    if not pattern.slots:
        raise ValidationFailed(_("Enter at least one time slot."), field="time_slots", code="invalid_slot")
    for position in positions:
        headcount = pattern.headcounts.get(position.id)
        if headcount is None or not 1 <= headcount <= MAX_HEADCOUNT:
            raise ValidationFailed(
                _(
                    "Give a headcount between 1 and %(max)s for %(position)s.",
                    max=MAX_HEADCOUNT,
                    position=position.name,
                ),
                field=f"headcount_{position.id}",
                code="invalid_headcount",
            )
    return positions


def plan_bulk_shifts(event: Event, pattern: BulkPattern) -> BulkPlan:
    """The shifts the pattern makes, in day, slot and position order; ones that exist already are skipped."""
    positions = _check_pattern(event, pattern)
    days = pattern_days(pattern)
    if not days:
        raise ValidationFailed(
            _("No day in this range falls on the chosen weekdays."), field="weekdays", code="invalid_pattern"
        )
    windows = [slot.on(day) for day in days for slot in pattern.slots]
    outside = [w for w in windows if w[0] < event.starts_at or w[1] > event.ends_at]
    if outside:
        raise ValidationFailed(
            _(
                "Shifts outside the event's time (%(start)s to %(end)s): %(count)s. Change the days or the slots.",
                count=len(outside) * len(positions),
                start=to_local(event.starts_at).strftime("%Y-%m-%d %H:%M"),
                end=to_local(event.ends_at).strftime("%Y-%m-%d %H:%M"),
            ),
            field="first_day",
            code="shift_outside_event",
        )
    total = len(windows) * len(positions)
    if total > MAX_BULK_SHIFTS:
        raise ValidationFailed(
            _(
                "This pattern makes %(count)s shifts; at most %(max)s can be created at once.",
                count=total,
                max=MAX_BULK_SHIFTS,
            ),
            field="first_day",
            code="too_many_shifts",
        )
    existing = set(
        db.session.execute(
            select(Shift.position_id, Shift.starts_at, Shift.ends_at).where(
                Shift.event_id == event.id,
                Shift.position_id.in_([p.id for p in positions]),
                Shift.is_cancelled.is_(False),
            )
        ).tuples()
    )
    plan = BulkPlan()
    for starts_at, ends_at in windows:
        for position in positions:
            if (position.id, starts_at, ends_at) in existing:
                plan.existing += 1
                continue
            plan.shifts.append(
                PlannedShift(position.id, position.name, starts_at, ends_at, pattern.headcounts[position.id])
            )
    return plan


def create_bulk_shifts(event: Event, pattern: BulkPattern, *, by: User, now: datetime) -> BulkPlan:
    """Insert every planned shift in one statement (executemany); returns the plan that was saved."""
    require_manager(by, event)
    require_not_cancelled(event)
    plan = plan_bulk_shifts(event, pattern)
    if not plan.shifts:
        raise ValidationFailed(
            _("Every shift of this pattern exists already."), field="first_day", code="nothing_to_create"
        )
    meeting_point = pattern.meeting_point.strip()
    db.session.execute(
        insert(Shift),
        [
            {
                "event_id": event.id,
                "position_id": s.position_id,
                "starts_at": s.starts_at,
                "ends_at": s.ends_at,
                "capacity": s.capacity,
                "assigned_count": 0,
                "meeting_point": meeting_point,
                "is_cancelled": False,
            }
            for s in plan.shifts
        ],
    )
    audit.record(
        "shift.bulk_create",
        actor=by,
        now=now,
        target=event,
        organization_id=event.organization_id,
        after={
            "shifts": len(plan.shifts),
            "skipped": plan.existing,
            "first_day": pattern.first_day.isoformat(),
            "last_day": pattern.last_day.isoformat(),
            "slots": [s.label for s in pattern.slots],
            "positions": sorted(pattern.position_ids),
        },
    )
    return plan
