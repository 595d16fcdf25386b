"""Turning attendance into ledger entries (the ledger only reads attendance; check-in never calls here).

`collect_closed_attendances` runs as a scheduled job and whenever a coordinator opens an
event's hours review. It records every closed attendance not yet in the ledger, and reconciles
attendance changed since it was recorded (a coordinator set the real check-out time, or voided
it): a pending entry of the line is withdrawn and one delta entry brings the line to the new
total. Events of the kinds in HOURS_EXCLUDED_EVENT_KINDS (default: pre-membership theory
classes, counted as class hours by the membership prerequisite) credit no service hours.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Case, CompoundSelect, and_, case, exists, func, or_, select

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from checkin.models import Attendance, AttendanceStatus
from events.models import Event, Shift
from hours.ledger.entries import append_entry, change_status, line_counted_minutes, pending_entry_of_line
from hours.ledger.minutes import Piece, credited_pieces, grace_minutes, rounding_rule_for
from hours.ledger.models import PENDING_STATUSES, EntryKind, EntryStatus, HourEntry

DEFAULT_EXCLUDED_KINDS = ("theory_class",)
#: attendances handled per batch by the collection job
COLLECT_BATCH = 500


def excluded_event_kinds() -> tuple[str, ...]:
    """Event kinds whose attendance is not service time."""
    return tuple(current_app.config.get("HOURS_EXCLUDED_EVENT_KINDS", DEFAULT_EXCLUDED_KINDS))


def attendance_author_id(attendance: Attendance) -> int:
    """Who recorded an attendance's time: whoever corrected, checked out or checked in, else the volunteer."""
    return (
        attendance.corrected_by_id or attendance.checked_out_by_id or attendance.checked_in_by_id or attendance.user_id
    )


def expected_pieces(attendance: Attendance) -> list[Piece]:
    """What the attendance should credit now, per local calendar year (nothing unless closed)."""
    if attendance.status != AttendanceStatus.CLOSED.value or attendance.checked_out_at is None:
        return []
    shift = db.session.get(Shift, attendance.shift_id)
    event = db.session.get(Event, attendance.event_id)
    assert shift is not None and event is not None  # the attendance's foreign keys name them
    if event.kind in excluded_event_kinds():
        return []
    return credited_pieces(
        attendance.checked_in_at,
        attendance.checked_out_at,
        shift.starts_at,
        shift.ends_at,
        grace=grace_minutes(),
        rule=rounding_rule_for(event.organization),
    )


def record_attendance(attendance: Attendance, *, now: datetime) -> list[HourEntry]:
    """Record a closed attendance as entries, one per local year it touches; idempotent; reconciles changes."""
    existing = {
        e.service_year: e
        for e in db.session.scalars(
            select(HourEntry).where(HourEntry.attendance_id == attendance.id, HourEntry.amends_entry_id.is_(None))
        )
    }
    if not existing and attendance.status in (AttendanceStatus.OPEN.value, AttendanceStatus.MISSING_CHECKOUT.value):
        raise ValidationFailed(
            _("This attendance has no check-out yet, so it credits nothing."), code="attendance_not_closed"
        )
    event = db.session.get(Event, attendance.event_id)
    assert event is not None  # the attendance's foreign key names it
    if event.kind in excluded_event_kinds():
        return []
    pieces = {piece.year: piece for piece in expected_pieces(attendance)}
    author_id = attendance_author_id(attendance)
    created: list[HourEntry] = []
    for year in sorted(set(pieces) | set(existing)):
        piece = pieces.get(year)
        first = existing.get(year)
        if first is None:
            assert piece is not None  # a year with no line yet comes from the pieces
            entry = _record_piece(attendance, event, piece, author_id=author_id, now=now)
            if entry is not None:
                created.append(entry)
            continue
        if not _changed_since_recorded(attendance, first.id):
            continue
        delta = _reconcile_line(first, piece, attendance, now=now)
        if delta is not None:
            created.append(delta)
    return created


def _record_piece(
    attendance: Attendance, event: Event, piece: Piece, *, author_id: int, now: datetime
) -> HourEntry | None:
    """The first entry of an attendance-year; None when a concurrent run recorded it first."""
    rule = rounding_rule_for(event.organization)
    try:
        return append_entry(
            status=EntryStatus.RECORDED.value,
            now=now,
            by_id=None,
            author_id=author_id,
            action="hours.record",
            reason=_("Recorded from attendance #%(id)s", id=attendance.id),
            volunteer_id=attendance.user_id,
            event_id=attendance.event_id,
            shift_id=attendance.shift_id,
            attendance_id=attendance.id,
            organization_id=event.organization_id,
            kind=EntryKind.SCAN.value,
            service_date=piece.service_date,
            service_year=piece.year,
            minutes=piece.minutes,
            started_at=piece.started_at,
            ended_at=piece.ended_at,
            rounding=rule,
            source_changed_at=attendance_stamp(attendance),
        )
    except Conflict:
        return None  # the unique index on (attendance, year) held against a concurrent run


def attendance_stamp(attendance: Attendance) -> datetime:
    """The attendance's last change (check-out, correction or voiding)."""
    return max(t for t in (attendance.updated_at, attendance.corrected_at) if t is not None)


def _stamp_column() -> Case[datetime]:
    """SQL: the attendance's last change, as `attendance_stamp` computes it."""
    return case(
        (
            and_(Attendance.corrected_at.is_not(None), Attendance.corrected_at > Attendance.updated_at),
            Attendance.corrected_at,
        ),
        else_=Attendance.updated_at,
    )


def _changed_since_recorded(attendance: Attendance, line_id: int) -> bool:
    """True when the attendance changed since the line's latest entry was computed from it."""
    stamp = db.session.scalar(
        select(HourEntry.source_changed_at)
        .where(or_(HourEntry.id == line_id, HourEntry.amends_entry_id == line_id))
        .order_by(HourEntry.id.desc())
        .limit(1)
    )
    return stamp != attendance_stamp(attendance)


def _reconcile_line(
    first: HourEntry, piece: Piece | None, attendance: Attendance, *, now: datetime
) -> HourEntry | None:
    """Bring a recorded line to what its changed attendance credits now: withdraw what waits, append a delta."""
    reason = attendance.note or _("Attendance #%(id)s changed", id=attendance.id)
    target = piece.minutes if piece is not None else 0
    counted = line_counted_minutes(first.id)
    pending = pending_entry_of_line(first.id)
    if counted + (pending.minutes if pending is not None else 0) == target:
        return None  # what counts, with what waits for a decision, already makes the new total
    if pending is not None:
        change_status(
            pending,
            EntryStatus.WITHDRAWN.value,
            from_statuses=PENDING_STATUSES,
            by=None,
            now=now,
            reason=_("Attendance #%(id)s changed", id=attendance.id),
            action="hours.withdraw",
        )
    delta = target - counted
    if delta == 0:
        return None
    return append_entry(
        status=EntryStatus.RECORDED.value,
        now=now,
        by_id=None,
        author_id=attendance_author_id(attendance),
        action="hours.reconcile",
        reason=reason,
        volunteer_id=first.volunteer_id,
        event_id=first.event_id,
        shift_id=first.shift_id,
        attendance_id=attendance.id,
        organization_id=first.organization_id,
        kind=first.kind,
        service_date=first.service_date,
        service_year=first.service_year,
        minutes=delta,
        started_at=piece.started_at if piece else None,
        ended_at=piece.ended_at if piece else None,
        rounding=first.rounding,
        amends_entry_id=first.id,
        source_changed_at=attendance_stamp(attendance),
    )


def attendances_to_collect(*, event_id: int | None = None) -> CompoundSelect:
    """A select of attendance ids the ledger should look at: closed and unrecorded, or changed since."""
    recorded = exists().where(HourEntry.attendance_id == Attendance.id)
    latest = (
        select(func.max(HourEntry.id).label("entry_id"))
        .where(HourEntry.attendance_id.is_not(None))
        .group_by(HourEntry.attendance_id)
        .subquery()
    )
    excluded = select(Event.id).where(Event.kind.in_(excluded_event_kinds()))
    unrecorded = select(Attendance.id).where(
        Attendance.status == AttendanceStatus.CLOSED.value, ~recorded, Attendance.event_id.not_in(excluded)
    )
    changed = (
        select(Attendance.id)
        .join(HourEntry, HourEntry.attendance_id == Attendance.id)
        .join(latest, latest.c.entry_id == HourEntry.id)
        .where(or_(HourEntry.source_changed_at.is_(None), HourEntry.source_changed_at != _stamp_column()))
    )
    if event_id is not None:
        unrecorded = unrecorded.where(Attendance.event_id == event_id)
        changed = changed.where(Attendance.event_id == event_id)
    return unrecorded.union(changed)


def collect_closed_attendances(*, now: datetime, event_id: int | None = None) -> int:
    """Record every closed attendance not yet in the ledger (and reconcile changed ones); returns entries made."""
    ids = sorted(db.session.scalars(attendances_to_collect(event_id=event_id)).all())
    made = 0
    for start in range(0, len(ids), COLLECT_BATCH):
        batch = db.session.scalars(select(Attendance).where(Attendance.id.in_(ids[start : start + COLLECT_BATCH])))
        for attendance in batch:
            made += len(record_attendance(attendance, now=now))
    return made
