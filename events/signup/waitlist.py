"""The waitlist: volunteers queued for a full shift, promoted in order when places free."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from events.models import Assignment, AssignmentStatus, Shift
from events.signup.places import audit, free_place, lock_shift, set_status, take_place, tell, try_lock_volunteer
from events.signup.rules import check_rules

#: rules not asked again at promotion: the volunteer joined while sign-up was open and already holds this entry
_IGNORED_AT_PROMOTION = frozenset({"signup_not_open", "already_signed_up", "shift_full"})
_BATCH = 20


def waitlist(shift: Shift) -> list[Assignment]:
    """The shift's waitlisted assignments, oldest first."""
    return list(
        db.session.scalars(
            select(Assignment)
            .where(Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.WAITLISTED.value)
            .order_by(Assignment.created_at, Assignment.id)
        )
    )


def waitlist_position(assignment: Assignment) -> int | None:
    """1 for the first in the queue; None when the assignment is not waitlisted."""
    if assignment.status != AssignmentStatus.WAITLISTED.value:
        return None
    ids = [a.id for a in waitlist(assignment.shift)]
    return ids.index(assignment.id) + 1 if assignment.id in ids else None


def _candidates(shift: Shift, skipped: set[int]) -> list[Assignment]:
    statement = (
        select(Assignment)
        .where(Assignment.shift_id == shift.id, Assignment.status == AssignmentStatus.WAITLISTED.value)
        .order_by(Assignment.created_at, Assignment.id)
        .limit(_BATCH)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if skipped:
        statement = statement.where(Assignment.id.not_in(skipped))
    return list(db.session.scalars(statement))


def promote_waitlist(shift: Shift, *, now: datetime) -> list[Assignment]:
    """Fill the shift's free places from its waitlist, oldest first, skipping volunteers who now break a rule
    (e.g. took an overlapping shift meanwhile); each promoted volunteer is told."""
    lock_shift(shift)
    promoted: list[Assignment] = []
    skipped: set[int] = set()
    while shift.assigned_count < shift.capacity and not shift.is_cancelled:
        candidates = _candidates(shift, skipped)
        if not candidates:
            break
        for candidate in candidates:
            if shift.assigned_count >= shift.capacity:
                break
            # a volunteer busy with another sign-up right now keeps their place in the queue for the next free place
            if not try_lock_volunteer(candidate.user_id):
                skipped.add(candidate.id)
                continue
            if check_rules(shift, candidate.user, now=now, ignore=_IGNORED_AT_PROMOTION):
                skipped.add(candidate.id)
                continue
            if not take_place(shift):
                break
            if not set_status(
                candidate, (AssignmentStatus.WAITLISTED.value,), AssignmentStatus.ASSIGNED.value, now=now
            ):
                free_place(shift)
                skipped.add(candidate.id)
                continue
            audit(
                "assignment.promote", candidate, by=None, now=now, before={"status": AssignmentStatus.WAITLISTED.value}
            )
            tell(candidate, "promoted", now=now)
            promoted.append(candidate)
    return promoted
