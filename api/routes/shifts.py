"""Shifts: open places for everyone logged in, sign-up for volunteers, edits and rosters for coordinators."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from api import serializers
from api.auth import load, referenced, require
from api.openapi import operation
from api.routes.events import managed_event, visible_event
from api.schemas import DATE_TIME, ID, PAGING, query
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.permissions import can_fill_quota, can_staff_shift
from app.timeutil import utcnow
from events.manage import shifts as manage_shifts
from events.models import Assignment, AssignmentStatus, Position, Shift
from events.signup import services as signup
from events.staffing import services as staffing
from volunteers.organizations.models import Organization

SHIFT_QUERY = [
    query("position_id", ID, "Only shifts of this position."),
    query("from", DATE_TIME, "Shifts ending after this time."),
    query("to", DATE_TIME, "Shifts starting before this time."),
    query("include_cancelled", {"type": "boolean", "default": True}, "Include cancelled shifts."),
    *PAGING,
]
ROSTER_QUERY = [
    query("status", {"type": "string", "enum": [s.value for s in AssignmentStatus]}, "Only this status."),
    *PAGING,
]


def shift_not_found() -> str:
    return _("No such shift.")


def visible_shift(shift_id: int) -> Shift:
    """A shift of an event the caller may see, or 404."""
    shift = load(Shift, shift_id, shift_not_found())
    visible_event(shift.event_id)
    return shift


def _shift(shift: Shift) -> dict:
    return serializers.shifts([shift], current_user)[0]


@operation(
    "/events/<int:event_id>/shifts",
    summary="List an event's shifts with open places",
    tag="shifts",
    response="ShiftPage",
    query=SHIFT_QUERY,
)
def list_event_shifts(event_id: int, query):
    """Shifts of an event in time order, with open places, waitlist length and your own place."""
    event = visible_event(event_id)
    statement = (
        select(Shift)
        .where(Shift.event_id == event.id)
        .options(joinedload(Shift.position))
        .order_by(Shift.starts_at, Shift.id)
    )
    if query["position_id"]:
        statement = statement.where(Shift.position_id == query["position_id"])
    if query["from"]:
        statement = statement.where(Shift.ends_at > query["from"])
    if query["to"]:
        statement = statement.where(Shift.starts_at < query["to"])
    if not query["include_cancelled"]:
        statement = statement.where(Shift.is_cancelled.is_(False))
    pagination = db.paginate(
        statement, page=query["page"], per_page=query["per_page"], error_out=False, max_per_page=100
    )
    page = serializers.page(pagination, lambda item: item)
    page["items"] = serializers.shifts(page["items"], current_user)
    return page


@operation("/shifts/<int:shift_id>", summary="Show a shift", tag="shifts", response="Shift")
def get_shift(shift_id: int):
    """One shift with its open places, waitlist length and your own place."""
    return _shift(visible_shift(shift_id))


@operation(
    "/positions/<int:position_id>/shifts",
    "POST",
    summary="Add a shift to a position",
    tag="shifts",
    response="Shift",
    status=201,
    body="ShiftCreate",
    errors=(403, 409),
)
def create_shift(position_id: int, body):
    """Add one shift (time window inside the event, headcount, meeting point)."""
    position = load(Position, position_id, _("No such position."))
    managed_event(position.event_id)
    data = manage_shifts.ShiftData(
        starts_at=body["starts_at"],
        ends_at=body["ends_at"],
        capacity=body["capacity"],
        meeting_point=body.get("meeting_point", ""),
    )
    shift = manage_shifts.create_shift(position, data, by=current_user, now=utcnow())
    db.session.commit()
    return _shift(shift)


@operation(
    "/shifts/<int:shift_id>",
    "PATCH",
    summary="Edit a shift",
    tag="shifts",
    response="Shift",
    body="ShiftUpdate",
    errors=(403, 409),
)
def update_shift(shift_id: int, body):
    """Change the fields given; a higher headcount promotes the waitlist, a lower one never drops anyone."""
    shift = visible_shift(shift_id)
    managed_event(shift.event_id)
    data = manage_shifts.ShiftData(
        starts_at=body.get("starts_at", shift.starts_at),
        ends_at=body.get("ends_at", shift.ends_at),
        capacity=body.get("capacity", shift.capacity),
        meeting_point=body.get("meeting_point", shift.meeting_point),
    )
    manage_shifts.update_shift(shift, data, by=current_user, now=utcnow())
    db.session.commit()
    return _shift(shift)


@operation(
    "/shifts/<int:shift_id>/cancel",
    "POST",
    summary="Cancel a shift",
    tag="shifts",
    response="Shift",
    body="CancelRequest",
    body_required=False,
    errors=(403, 409),
)
def cancel_shift(shift_id: int, body):
    """Cancel a shift: everyone on it or waiting for it is released and told."""
    shift = visible_shift(shift_id)
    managed_event(shift.event_id)
    manage_shifts.cancel_shift(shift, by=current_user, now=utcnow(), reason=body.get("reason", ""))
    db.session.commit()
    return _shift(shift)


@operation(
    "/shifts/<int:shift_id>/signup",
    "POST",
    summary="Sign up for a shift",
    tag="assignments",
    response="Assignment",
    status=201,
    body="SignupRequest",
    body_required=False,
    errors=(403, 409),
    description="Take a place on the shift yourself, or join its waitlist when it is full and "
    "join_waitlist is true. A refusal answers 409 with the rule as its code (shift_full, "
    "overlap, missing_skill, missing_credential, under_age, signup_not_open, "
    "too_many_no_shows, ...); details.violations lists every rule broken.",
)
def sign_up(shift_id: int, body):
    """Sign yourself up for a shift (or its waitlist)."""
    shift = visible_shift(shift_id)
    assignment = signup.sign_up(shift, current_user, now=utcnow(), join_waitlist=body.get("join_waitlist", False))
    db.session.commit()
    return serializers.assignment(assignment)


@operation(
    "/shifts/<int:shift_id>/assignments",
    summary="A shift's roster",
    tag="assignments",
    response="AssignmentPage",
    query=ROSTER_QUERY,
    errors=(403,),
)
def list_shift_assignments(shift_id: int, query):
    """Every assignment of the shift, oldest first (the waitlist in the order it is served); coordinators only."""
    shift = visible_shift(shift_id)
    require(can_staff_shift(current_user, shift), _("Only the event's coordinators see its roster."), "not_coordinator")
    statement = (
        select(Assignment)
        .where(Assignment.shift_id == shift.id)
        .options(joinedload(Assignment.user))
        .order_by(Assignment.created_at, Assignment.id)
    )
    if query["status"]:
        statement = statement.where(Assignment.status == query["status"])
    pagination = db.paginate(
        statement, page=query["page"], per_page=query["per_page"], error_out=False, max_per_page=100
    )
    return serializers.page(pagination, serializers.assignment)


@operation(
    "/shifts/<int:shift_id>/assignments",
    "POST",
    summary="Assign a volunteer to a shift",
    tag="assignments",
    response="Assignment",
    status=201,
    body="AssignRequest",
    errors=(403, 409),
    description="A coordinator of the event (or a team's coordinator filling the team's quota, with "
    "quota_organization_id) puts a volunteer on the shift under the same rules as sign-up. "
    "Rules in override_rules are waived with override_reason recorded; capacity never is.",
)
def assign_volunteer(shift_id: int, body):
    """Put a volunteer from your organizations on the shift."""
    shift = visible_shift(shift_id)
    team = None
    if body.get("quota_organization_id") is not None:
        team = referenced(
            Organization,
            body["quota_organization_id"],
            _("No such organization."),
            field="quota_organization_id",
            code="unknown_organization",
        )
    require(
        can_staff_shift(current_user, shift)
        or (team is not None and can_fill_quota(current_user, shift.position, team)),
        _("You may not change the staffing of this shift."),
        "not_coordinator",
    )
    try:
        volunteer = staffing.scoped_volunteers(current_user, [body["user_id"]])[0]
    except ValidationFailed:
        raise NotFound(
            _("No such volunteer in the organizations you coordinate."), field="user_id", code="unknown_volunteer"
        ) from None
    assignment = signup.assign(
        shift,
        volunteer,
        by=current_user,
        now=utcnow(),
        override_rules=frozenset(body.get("override_rules", ())),
        override_reason=body.get("override_reason", ""),
        quota_organization=team,
    )
    db.session.commit()
    return serializers.assignment(assignment)
