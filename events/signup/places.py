"""Places on shifts, volunteer locks and status changes: the guarded UPDATEs behind sign-up.

Concurrency design (see events.models):
- `lock_volunteer` bumps `users.signup_serial`: on PostgreSQL it takes the volunteer's
  row lock until commit, serializing one volunteer's sign-ups (the overlap rule); on
  SQLite it takes the database write lock. It is the first statement of a sign-up, so
  later reads see every committed assignment.
- `take_place` / `free_place` change `shifts.assigned_count` only through guarded UPDATEs;
  a CHECK keeps it within 0..capacity. A place is held by an assigned, no-show or
  completed assignment; only a cancellation frees it.
- Status changes are guarded UPDATEs too (`set_status`), so two concurrent cancellations
  of one assignment free its place once.
Lock order is always volunteer rows before shift rows; the waitlist promotion, which
holds a shift row, only takes volunteer rows that are free (SKIP LOCKED).
After each raw UPDATE the ORM state it touched is expired so it reads correctly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text, update

from app.audit import record
from app.extensions import db, rowcount
from events.models import Assignment, Shift
from notifications.services import notify
from volunteers.accounts.models import User

_shifts = Shift.__table__
_assignments = Assignment.__table__

#: notification kinds this module sends
NOTIFICATION_KINDS = ("assigned", "waitlisted", "promoted", "cancelled", "moved", "unassigned", "no_show")


def lock_volunteer(volunteer: User) -> None:
    """Serialize this volunteer's sign-ups until the transaction ends (guarded UPDATE of signup_serial)."""
    db.session.execute(text("UPDATE users SET signup_serial = signup_serial + 1 WHERE id = :id"), {"id": volunteer.id})
    db.session.expire(volunteer, ["signup_serial"])


def try_lock_volunteer(volunteer_id: int) -> bool:
    """Lock a volunteer's row unless another transaction holds it (PostgreSQL SKIP LOCKED; SQLite always)."""
    got = db.session.scalar(select(User.id).where(User.id == volunteer_id).with_for_update(skip_locked=True))
    if got is None:
        return False
    db.session.execute(text("UPDATE users SET signup_serial = signup_serial + 1 WHERE id = :id"), {"id": volunteer_id})
    return True


def lock_shift(shift: Shift) -> None:
    """Take the shift's row (PostgreSQL) or the write lock (SQLite) so promotions of one shift run one at a time."""
    db.session.execute(update(_shifts).where(_shifts.c.id == shift.id).values(assigned_count=_shifts.c.assigned_count))
    db.session.expire(shift, ["assigned_count", "capacity", "is_cancelled"])


def take_place(shift: Shift) -> bool:
    """Take one place on the shift; False when it is full or cancelled."""
    result = db.session.execute(
        update(_shifts)
        .where(_shifts.c.id == shift.id, _shifts.c.assigned_count < _shifts.c.capacity, ~_shifts.c.is_cancelled)
        .values(assigned_count=_shifts.c.assigned_count + 1)
    )
    db.session.expire(shift, ["assigned_count"])
    return rowcount(result) == 1


def free_place(shift: Shift) -> None:
    """Give one place back to the shift."""
    db.session.execute(
        update(_shifts)
        .where(_shifts.c.id == shift.id, _shifts.c.assigned_count > 0)
        .values(assigned_count=_shifts.c.assigned_count - 1)
    )
    db.session.expire(shift, ["assigned_count"])


def set_status(
    assignment: Assignment, from_statuses: tuple[str, ...], to_status: str, *, now: datetime, **values: object
) -> bool:
    """Move the assignment to `to_status` only if it is still in one of `from_statuses`; False otherwise."""
    db.session.flush()
    result = db.session.execute(
        update(_assignments)
        .where(_assignments.c.id == assignment.id, _assignments.c.status.in_(from_statuses))
        .values(status=to_status, updated_at=now, **values)
    )
    db.session.expire(assignment)
    return rowcount(result) == 1


def shift_link(shift: Shift) -> str:
    """Where a notification about this shift leads."""
    return f"/events/{shift.event_id}"


def tell(assignment: Assignment, kind: str, *, now: datetime, reason: str = "", **extra: object) -> None:
    """Notify the assignment's volunteer of a change (event title, position, shift start, reason)."""
    shift = assignment.shift
    params = {
        "event_title": shift.event.title,
        "position_name": shift.position.name,
        "shift_start": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "meeting_point": shift.meeting_point or shift.event.place,
        "event_id": shift.event_id,
        "shift_id": shift.id,
    }
    if reason:
        params["reason"] = reason
    params.update(extra)
    notify(assignment.user_id, kind, params=params, link=shift_link(shift), now=now)


def snapshot(assignment: Assignment) -> dict:
    """The audited fields of an assignment."""
    return {
        "shift_id": assignment.shift_id,
        "user_id": assignment.user_id,
        "status": assignment.status,
        "source": assignment.source,
        "quota_organization_id": assignment.quota_organization_id,
        "override_rule": assignment.override_rule,
    }


def audit(
    action: str, assignment: Assignment, *, by: User | None, now: datetime, before: dict | None = None, note: str = ""
) -> None:
    """Write the audit entry of an assignment change."""
    record(
        action,
        actor=by,
        now=now,
        target=assignment,
        organization_id=assignment.shift.event.organization_id,
        before=before,
        after=snapshot(assignment),
        note=note,
    )
