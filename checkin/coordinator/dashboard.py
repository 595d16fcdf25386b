"""Read-side queries of the check-in pages: the live dashboard, the kiosk's count, attendance waiting for a fix.

The dashboard is two aggregate queries whatever the size of the event (shifts with their
assignment counts; attendance counts per shift), never one query per shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, case, distinct, exists, func, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.timeutil import LOCAL_TZ, to_local
from checkin.models import Attendance, AttendanceStatus, Scan
from events.models import Assignment, AssignmentStatus, Event, Position, Shift

OPEN = AttendanceStatus.OPEN.value
MISSING = AttendanceStatus.MISSING_CHECKOUT.value
VOIDED = AttendanceStatus.VOIDED.value
ASSIGNED = AssignmentStatus.ASSIGNED.value
COMPLETED = AssignmentStatus.COMPLETED.value
NO_SHOW = AssignmentStatus.NO_SHOW.value
#: assignment statuses of volunteers the shift counts on
EXPECTED = (ASSIGNED, COMPLETED, NO_SHOW)
#: the current shift is "ending" this long before its end: the next one should be arriving
HANDOVER_MINUTES = 15
#: today's view also shows shifts this close to now, across midnight
LIVE_MARGIN = timedelta(hours=6)
#: a long event's day picker stops here
MAX_DAYS = 62


@dataclass
class ShiftLine:
    """One shift on the dashboard: who was expected, who came, who is there now, who is late or missing."""

    id: int
    position_id: int
    position_name: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    expected: int
    checked_in: int  # volunteers who checked in (and may have left)
    on_site: int  # open check-ins now
    late: int  # shift under way, assigned, not checked in
    no_shows: int  # shift over, assigned, never checked in (or marked no-show)
    state: str  # "upcoming", "under_way" or "ended"
    handover_alert: bool = False

    def to_dict(self) -> dict:
        start, end = to_local(self.starts_at), to_local(self.ends_at)
        return {
            "id": self.id,
            "position_id": self.position_id,
            "position_name": self.position_name,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "label": f"{start:%H:%M}–{end:%H:%M}",
            "capacity": self.capacity,
            "expected": self.expected,
            "checked_in": self.checked_in,
            "on_site": self.on_site,
            "late": self.late,
            "no_shows": self.no_shows,
            "state": self.state,
            "handover_alert": self.handover_alert,
        }


@dataclass
class Handover:
    """A post whose current shift is ending while nobody of the next shift has checked in."""

    position_name: str
    current: ShiftLine
    following: ShiftLine
    ends_in_minutes: int

    def to_dict(self) -> dict:
        return {
            "position_name": self.position_name,
            "current_shift_id": self.current.id,
            "next_shift_id": self.following.id,
            "current_label": self.current.to_dict()["label"],
            "next_label": self.following.to_dict()["label"],
            "ends_in_minutes": self.ends_in_minutes,
        }


@dataclass
class Dashboard:
    """The live dashboard of one event on one (local) day."""

    event: Event
    day: date
    days: list[date]
    now: datetime
    positions: list[tuple[int, str, list[ShiftLine]]]
    handovers: list[Handover]
    totals: dict

    def to_dict(self) -> dict:
        return {
            "event_id": self.event.id,
            "day": self.day.isoformat(),
            "generated_at": self.now.isoformat(),
            "updated_label": to_local(self.now).strftime("%H:%M:%S"),
            "totals": self.totals,
            "positions": [
                {"id": pid, "name": name, "shifts": [line.to_dict() for line in lines]}
                for pid, name, lines in self.positions
            ],
            "handovers": [handover.to_dict() for handover in self.handovers],
        }


def event_days(event: Event) -> list[date]:
    """The local dates the event spans (at most MAX_DAYS)."""
    first, last = to_local(event.starts_at).date(), to_local(event.ends_at - timedelta(seconds=1)).date()
    days: list[date] = []
    day = first
    while day <= last and len(days) < MAX_DAYS:
        days.append(day)
        day += timedelta(days=1)
    return days or [first]


def pick_day(event: Event, requested: str | None, *, now: datetime) -> date:
    """The day asked for when the event spans it; otherwise today during the event, else its nearest day."""
    days = event_days(event)
    try:
        wanted = date.fromisoformat(requested) if requested else None
    except ValueError:
        wanted = None
    if wanted in days:
        return wanted
    today = to_local(now).date()
    if today in days:
        return today
    return days[0] if today < days[0] else days[-1]


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


def _state(starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    if now < starts_at:
        return "upcoming"
    return "under_way" if now < ends_at else "ended"


def _shift_rows(event: Event, start: datetime, end: datetime) -> Sequence[Row[Any]]:
    """Query 1: the shifts in [start, end) with their position and assignment counts."""
    attended = exists().where(Attendance.assignment_id == Assignment.id, Attendance.status != VOIDED)
    absent = and_(Assignment.status == ASSIGNED, ~attended)
    statement = (
        select(
            Shift.id,
            Shift.position_id,
            Position.name,
            Shift.starts_at,
            Shift.ends_at,
            Shift.capacity,
            func.coalesce(func.sum(case((Assignment.status.in_(EXPECTED), 1), else_=0)), 0),
            func.coalesce(func.sum(case((absent, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Assignment.status == NO_SHOW, 1), else_=0)), 0),
        )
        .join(Position, Position.id == Shift.position_id)
        .outerjoin(Assignment, Assignment.shift_id == Shift.id)
        .where(Shift.event_id == event.id, Shift.is_cancelled.is_(False), Shift.starts_at < end, Shift.ends_at > start)
        .group_by(Shift.id, Shift.position_id, Position.name, Shift.starts_at, Shift.ends_at, Shift.capacity)
        .order_by(Shift.position_id, Shift.starts_at, Shift.id)
    )
    return db.session.execute(statement).all()


def _attendance_counts(event: Event, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """Query 2: per shift in [start, end), volunteers who checked in and check-ins still open."""
    statement = (
        select(
            Attendance.shift_id,
            func.count(distinct(Attendance.user_id)),
            func.coalesce(func.sum(case((Attendance.status == OPEN, 1), else_=0)), 0),
        )
        .join(Shift, Shift.id == Attendance.shift_id)
        .where(
            Attendance.event_id == event.id, Attendance.status != VOIDED, Shift.starts_at < end, Shift.ends_at > start
        )
        .group_by(Attendance.shift_id)
    )
    return {shift_id: (int(arrived), int(present)) for shift_id, arrived, present in db.session.execute(statement)}


def live_dashboard(event: Event, *, now: datetime, day: date) -> Dashboard:
    """Per position and shift of `day`: checked in / expected, on site, late, no-shows, and hand-over alerts."""
    start, end = _day_bounds(day)
    if day == to_local(now).date():  # live: around midnight, keep the last and the next hours in view
        start, end = min(start, now - LIVE_MARGIN), max(end, now + LIVE_MARGIN)
    horizon = end + timedelta(hours=12)  # a night shift's follower may start after midnight
    counts = _attendance_counts(event, start, horizon)
    by_position: dict[int, tuple[str, list[ShiftLine]]] = {}
    for shift_id, position_id, name, starts_at, ends_at, capacity, expected, absent, marked in _shift_rows(
        event, start, horizon
    ):
        state = _state(starts_at, ends_at, now)
        arrived, present = counts.get(shift_id, (0, 0))
        line = ShiftLine(
            id=shift_id,
            position_id=position_id,
            position_name=name,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            expected=int(expected),
            checked_in=arrived,
            on_site=present,
            late=int(absent) if state == "under_way" else 0,
            no_shows=(int(absent) if state == "ended" else 0) + int(marked),
            state=state,
        )
        by_position.setdefault(position_id, (name, []))[1].append(line)
    handovers = _handovers(by_position, now)
    positions = []
    for position_id, (name, lines) in by_position.items():
        shown = [line for line in lines if line.starts_at < end]
        if shown:
            positions.append((position_id, name, shown))
    shown_lines = [line for _, _, lines in positions for line in lines]
    totals = {
        key: sum(getattr(line, key) for line in shown_lines)
        for key in ("expected", "checked_in", "on_site", "late", "no_shows")
    }
    totals["shifts"] = len(shown_lines)
    totals["handovers"] = len(handovers)
    return Dashboard(
        event=event, day=day, days=event_days(event), now=now, positions=positions, handovers=handovers, totals=totals
    )


def _handovers(by_position: dict[int, tuple[str, list[ShiftLine]]], now: datetime) -> list[Handover]:
    """Posts whose shift under way ends within HANDOVER_MINUTES while the shift taking over (starting by then
    plus HANDOVER_MINUTES) has nobody checked in."""
    found = []
    soon = timedelta(minutes=HANDOVER_MINUTES)
    for name, lines in by_position.values():
        for index, line in enumerate(lines):
            if line.state != "under_way" or line.ends_at - now > soon:
                continue
            following = next((later for later in lines[index + 1 :] if later.starts_at > line.starts_at), None)
            if following is None or following.starts_at > line.ends_at + soon:
                continue  # no shift takes over right after this one: nothing to hand over
            if following.checked_in == 0:
                line.handover_alert = following.handover_alert = True
                minutes = max(int((line.ends_at - now).total_seconds() // 60), 0)
                found.append(Handover(position_name=name, current=line, following=following, ends_in_minutes=minutes))
    return found


def checked_in_count(event_id: int, shift_id: int | None = None) -> int:
    """How many volunteers are checked in now at the event (or the shift)."""
    statement = select(func.count(Attendance.id)).where(Attendance.event_id == event_id, Attendance.status == OPEN)
    if shift_id is not None:
        statement = statement.where(Attendance.shift_id == shift_id)
    return int(db.session.scalar(statement) or 0)


def open_attendance(user_id: int, event_id: int) -> Attendance | None:
    """The volunteer's open check-in at this event, if any (the kiosk page offers a check-out then)."""
    return db.session.scalar(
        select(Attendance).where(
            Attendance.user_id == user_id, Attendance.event_id == event_id, Attendance.status == OPEN
        )
    )


def attendance_to_fix(event: Event, *, now: datetime) -> list[Attendance]:
    """Check-outs to set: marked missing, or still open after the shift ended; oldest shift first."""
    statement = (
        select(Attendance)
        .join(Shift, Shift.id == Attendance.shift_id)
        .where(
            Attendance.event_id == event.id,
            or_(Attendance.status == MISSING, and_(Attendance.status == OPEN, Shift.ends_at <= now)),
        )
        .options(joinedload(Attendance.user), joinedload(Attendance.shift).joinedload(Shift.position))
        .order_by(Shift.starts_at, Attendance.checked_in_at, Attendance.id)
    )
    return list(db.session.scalars(statement))


def open_conflicts(event: Event) -> list[Scan]:
    """Offline scans flagged as conflicts that no coordinator has settled yet, oldest first."""
    statement = (
        select(Scan)
        .where(Scan.event_id == event.id, Scan.result == "conflict", Scan.resolved_at.is_(None))
        .options(
            joinedload(Scan.user), joinedload(Scan.attendance).joinedload(Attendance.shift).joinedload(Shift.position)
        )
        .order_by(Scan.scanned_at, Scan.id)
    )
    return list(db.session.scalars(statement))


def fix_counts(event: Event, *, now: datetime) -> dict:
    """How many check-outs and conflicts wait for a coordinator (the check-in hub's badges)."""
    missing = (
        select(func.count(Attendance.id))
        .join(Shift, Shift.id == Attendance.shift_id)
        .where(
            Attendance.event_id == event.id,
            or_(Attendance.status == MISSING, and_(Attendance.status == OPEN, Shift.ends_at <= now)),
        )
    )
    conflicts = select(func.count(Scan.id)).where(
        Scan.event_id == event.id, Scan.result == "conflict", Scan.resolved_at.is_(None)
    )
    return {"checkouts": int(db.session.scalar(missing) or 0), "conflicts": int(db.session.scalar(conflicts) or 0)}


def kiosk_shifts(event: Event, *, now: datetime) -> list[Shift]:
    """Shifts a per-shift kiosk can be opened for: not cancelled and not over, earliest first."""
    return list(
        db.session.scalars(
            select(Shift)
            .where(Shift.event_id == event.id, Shift.is_cancelled.is_(False), Shift.ends_at > now)
            .options(joinedload(Shift.position))
            .order_by(Shift.starts_at, Shift.id)
            .limit(200)
        )
    )
