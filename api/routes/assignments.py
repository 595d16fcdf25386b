"""Assignments: my own shifts, cancelling a place, and coordinators moving or unassigning volunteers."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from api import serializers
from api.auth import load
from api.openapi import operation
from api.routes.shifts import visible_shift
from api.schemas import PAGING, query
from app.errors import NotFound
from app.extensions import db
from app.permissions import can_view_assignment
from app.timeutil import utcnow
from events.models import Assignment, AssignmentStatus, Shift
from events.signup import services as signup
from events.staffing import services as staffing

MY_QUERY = [
    query("status", {"type": "string", "enum": [s.value for s in AssignmentStatus]}, "Only this status."),
    query("upcoming", {"type": "boolean", "default": False}, "Only shifts that have not ended yet."),
    *PAGING,
]


def visible_assignment(assignment_id: int) -> Assignment:
    """An assignment the caller may see (their own, or one on a shift they staff), or 404."""
    assignment = load(Assignment, assignment_id, _("No such assignment."))
    if not can_view_assignment(current_user, assignment):
        raise NotFound(_("No such assignment."))
    return assignment


@operation("/me/assignments", summary="My shifts", tag="assignments", response="AssignmentPage", query=MY_QUERY)
def list_my_assignments(query):
    """Your own assignments (any status), in shift order."""
    statement = (
        select(Assignment)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Assignment.user_id == current_user.id)
        .options(
            joinedload(Assignment.shift).joinedload(Shift.position),
            joinedload(Assignment.shift).joinedload(Shift.event),
        )
        .order_by(Shift.starts_at, Assignment.id)
    )
    if query["status"]:
        statement = statement.where(Assignment.status == query["status"])
    if query["upcoming"]:
        statement = statement.where(Shift.ends_at > utcnow())
    pagination = db.paginate(
        statement, page=query["page"], per_page=query["per_page"], error_out=False, max_per_page=100
    )
    return serializers.page(pagination, serializers.assignment)


@operation("/assignments/<int:assignment_id>", summary="Show an assignment", tag="assignments", response="Assignment")
def get_assignment(assignment_id: int):
    """One assignment: your own, or one on a shift you staff."""
    return serializers.assignment(visible_assignment(assignment_id))


@operation(
    "/assignments/<int:assignment_id>/cancel",
    "POST",
    summary="Cancel a place",
    tag="assignments",
    response="Assignment",
    body="CancelRequest",
    body_required=False,
    errors=(403, 409),
    description="A volunteer cancels their own place until the event's cut-off (code cancel_cutoff_passed "
    "after it) or their waitlist place at any time; staff cancel any place with a reason.",
)
def cancel_assignment(assignment_id: int, body):
    """Cancel a place on a shift (yours, or as staff with a reason)."""
    assignment = visible_assignment(assignment_id)
    signup.cancel_assignment(assignment, by=current_user, now=utcnow(), reason=body.get("reason", ""))
    db.session.commit()
    return serializers.assignment(assignment)


@operation(
    "/assignments/<int:assignment_id>/move",
    "POST",
    summary="Move a volunteer to another shift",
    tag="assignments",
    response="Assignment",
    status=201,
    body="MoveRequest",
    errors=(403, 409),
    description="Coordinators move a volunteer to another shift of the same event under the sign-up "
    "rules; the answer is the new assignment, the old one is cancelled.",
)
def move_assignment(assignment_id: int, body):
    """Move a volunteer to another shift of the same event."""
    assignment = visible_assignment(assignment_id)
    target = visible_shift(body["to_shift_id"])
    moved = staffing.move_assignment(
        assignment,
        target,
        by=current_user,
        now=utcnow(),
        override_rules=frozenset(body.get("override_rules", ())),
        override_reason=body.get("override_reason", ""),
    )
    db.session.commit()
    return serializers.assignment(moved)


@operation(
    "/assignments/<int:assignment_id>",
    "DELETE",
    summary="Take a volunteer off a shift",
    tag="assignments",
    response="Assignment",
    body="UnassignRequest",
    errors=(403, 409),
)
def unassign(assignment_id: int, body):
    """A coordinator unassigns a volunteer (or removes them from the waitlist), with a reason."""
    assignment = visible_assignment(assignment_id)
    signup.unassign(assignment, by=current_user, now=utcnow(), reason=body["reason"])
    db.session.commit()
    return serializers.assignment(assignment)
