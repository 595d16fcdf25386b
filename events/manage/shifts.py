"""Coordinator operations on single shifts: create, edit (headcount, time, meeting point), delete, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app import audit
from app.errors import Conflict, ValidationFailed
from app.extensions import db, rowcount
from app.timeutil import to_local
from events.manage.services import free_assignments, require_manager, require_not_cancelled
from events.models import LIVE_STATUSES, Assignment, AssignmentStatus, Event, Position, Shift
from notifications.services import notify
from volunteers.accounts.models import User

MAX_HEADCOUNT = 10_000


@dataclass
class ShiftData:
    """A shift's time window (aware), headcount and meeting point."""

    starts_at: datetime
    ends_at: datetime
    capacity: int
    meeting_point: str = ""


def check_window(event: Event, starts_at: datetime, ends_at: datetime) -> None:
    """A shift ends after it starts and lies within its event's time."""
    if ends_at <= starts_at:
        raise ValidationFailed(_("The shift must end after it starts."), field="ends_at", code="invalid_shift")
    if starts_at < event.starts_at or ends_at > event.ends_at:
        raise ValidationFailed(
            _(
                "Shifts must lie within the event's time (%(start)s to %(end)s).",
                start=to_local(event.starts_at).strftime("%Y-%m-%d %H:%M"),
                end=to_local(event.ends_at).strftime("%Y-%m-%d %H:%M"),
            ),
            field="starts_at",
            code="shift_outside_event",
        )


def check_headcount(capacity: int) -> None:
    """A shift needs between 1 and MAX_HEADCOUNT volunteers."""
    if not 1 <= capacity <= MAX_HEADCOUNT:
        raise ValidationFailed(
            _("The headcount must be between 1 and %(max)s.", max=MAX_HEADCOUNT),
            field="capacity",
            code="invalid_headcount",
        )


def _live_count(shift: Shift) -> int:
    return (
        db.session.scalar(
            select(func.count(Assignment.id)).where(
                Assignment.shift_id == shift.id, Assignment.status.in_(LIVE_STATUSES)
            )
        )
        or 0
    )


def _snapshot(shift: Shift) -> dict:
    return {
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "capacity": shift.capacity,
        "meeting_point": shift.meeting_point,
    }


def create_shift(position: Position, data: ShiftData, *, by: User, now: datetime) -> Shift:
    """Add one shift to a position."""
    event = position.event
    require_manager(by, event)
    require_not_cancelled(event)
    check_window(event, data.starts_at, data.ends_at)
    check_headcount(data.capacity)
    shift = Shift(
        event_id=event.id,
        position_id=position.id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        capacity=data.capacity,
        assigned_count=0,
        meeting_point=data.meeting_point.strip(),
    )
    db.session.add(shift)
    db.session.flush()
    audit.record(
        "shift.create", actor=by, now=now, target=shift, organization_id=event.organization_id, after=_snapshot(shift)
    )
    return shift


def _set_capacity(shift: Shift, capacity: int) -> None:
    """Change the headcount with a guarded UPDATE, so it never drops below the assigned count."""
    result = db.session.execute(
        update(Shift)
        .where(Shift.id == shift.id, Shift.assigned_count <= capacity)
        .values(capacity=capacity)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        db.session.refresh(shift)
        raise ValidationFailed(
            _(
                "The headcount cannot be lower than %(count)s: that many places on this shift are taken.",
                count=shift.assigned_count,
            ),
            field="capacity",
            code="headcount_below_assigned",
        )
    db.session.refresh(shift)


def update_shift(shift: Shift, data: ShiftData, *, by: User, now: datetime) -> Shift:
    """Change a shift; a lower headcount never drops assigned volunteers, a higher one promotes the waitlist."""
    from events.signup import services as signup

    event = shift.event
    require_manager(by, event)
    require_not_cancelled(event)
    if shift.is_cancelled:
        raise Conflict(_("This shift is cancelled and can no longer be changed."), code="shift_cancelled")
    check_window(event, data.starts_at, data.ends_at)
    check_headcount(data.capacity)
    before = _snapshot(shift)
    moved = (data.starts_at, data.ends_at) != (shift.starts_at, shift.ends_at)
    if moved and _live_count(shift):
        raise Conflict(
            _("Volunteers are on this shift: cancel it and create a new one to change its time."), code="shift_in_use"
        )
    old_capacity = shift.capacity
    if data.capacity != old_capacity:
        _set_capacity(shift, data.capacity)
    meeting_point = data.meeting_point.strip()
    met_elsewhere = meeting_point != shift.meeting_point
    shift.starts_at, shift.ends_at, shift.meeting_point = data.starts_at, data.ends_at, meeting_point
    db.session.flush()
    if data.capacity > old_capacity:
        signup.promote_waitlist(shift, now=now)
    if met_elsewhere:
        assignees = db.session.scalars(
            select(Assignment.user_id).where(Assignment.shift_id == shift.id, Assignment.status.in_(LIVE_STATUSES))
        )
        for user_id in assignees:
            notify(
                user_id,
                "shift_changed",
                now=now,
                link=f"/events/{event.id}",
                params={
                    "event_id": event.id,
                    "event_title": event.title,
                    "shift_id": shift.id,
                    "starts_at": shift.starts_at.isoformat(),
                    "meeting_point": meeting_point,
                },
            )
    audit.record(
        "shift.update",
        actor=by,
        now=now,
        target=shift,
        organization_id=event.organization_id,
        before=before,
        after=_snapshot(shift),
    )
    return shift


def delete_shift(shift: Shift, *, by: User, now: datetime) -> None:
    """Delete a shift nobody is or was on; a shift with volunteers can only be cancelled."""
    event = shift.event
    require_manager(by, event)
    used = db.session.scalar(
        select(func.count(Assignment.id)).where(
            Assignment.shift_id == shift.id, Assignment.status != AssignmentStatus.CANCELLED.value
        )
    )
    if used:
        raise Conflict(
            _("Volunteers are on this shift, so it cannot be deleted; cancel it instead."), code="shift_in_use"
        )
    audit.record(
        "shift.delete", actor=by, now=now, target=shift, organization_id=event.organization_id, before=_snapshot(shift)
    )
    db.session.delete(shift)
    db.session.flush()


def cancel_shift(shift: Shift, *, by: User, now: datetime, reason: str = "") -> Shift:
    """Cancel a shift: everyone on it (or waiting for it) is freed and told."""
    event = shift.event
    require_manager(by, event)
    require_not_cancelled(event)
    if shift.is_cancelled:
        raise Conflict(_("This shift is already cancelled."), code="shift_cancelled")
    freed = free_assignments(Shift.id == shift.id, now=now)
    db.session.refresh(shift)
    for user_id, _shift_id in freed:
        notify(
            user_id,
            "shift_cancelled",
            now=now,
            link=f"/events/{event.id}",
            dedupe_key=f"shift_cancelled:{shift.id}:{user_id}",
            params={
                "event_id": event.id,
                "event_title": event.title,
                "shift_id": shift.id,
                "position_name": shift.position.name,
                "starts_at": shift.starts_at.isoformat(),
                "reason": reason.strip(),
            },
        )
    audit.record(
        "shift.cancel",
        actor=by,
        now=now,
        target=shift,
        organization_id=event.organization_id,
        note=reason.strip(),
        after={"assignments_cancelled": len(freed)},
    )
    return shift
