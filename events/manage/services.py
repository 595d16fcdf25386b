"""Coordinator operations on events and positions: create, edit, publish, cancel.

Services take the acting user and `now`, flush and never commit. Shifts are in
events/manage/shifts.py, bulk shift creation in events/manage/bulk.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, func, select, update

from app import audit
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_manage
from events.models import (
    LIVE_STATUSES,
    Assignment,
    AssignmentStatus,
    CredentialType,
    Event,
    EventKind,
    EventStatus,
    GeofenceMode,
    Position,
    Shift,
)
from notifications.services import notify
from volunteers.accounts.models import Skill, User
from volunteers.organizations.models import Organization

#: kinds of event that grant a training credential to those who attend
CREDENTIAL_KINDS = {EventKind.TRAINING.value}
MAX_RADIUS_M = 50_000
MAX_CUTOFF_HOURS = 24 * 30
MAX_CHECKIN_OPENS_MINUTES = 24 * 60
#: statuses that keep holding a place on a cancelled shift (the service was given or missed)
HELD_STATUSES = (AssignmentStatus.NO_SHOW.value, AssignmentStatus.COMPLETED.value)


@dataclass
class EventData:
    """Everything a coordinator states about an event (times aware, any zone)."""

    title: str
    kind: str
    organization_id: int
    starts_at: datetime
    ends_at: datetime
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    checkin_radius_m: int | None = None
    geofence_mode: str = GeofenceMode.FLAG.value
    description: str = ""
    brand_tag: str = ""
    signup_opens_at: datetime | None = None
    signup_closes_at: datetime | None = None
    cancel_cutoff_hours: int = 24
    allow_walk_ins: bool = False
    checkin_opens_minutes: int = 30
    grants_credential_type_id: int | None = None


@dataclass
class PositionData:
    """A position's name, description and requirements."""

    name: str
    description: str = ""
    min_age: int = 0
    skill_ids: list[int] = field(default_factory=list)
    credential_type_ids: list[int] = field(default_factory=list)


def event_problems(data: EventData) -> dict[str, str]:
    """Every rule the event data breaks, as {field: readable message}; empty when valid."""
    problems: dict[str, str] = {}
    if not data.title.strip():
        problems["title"] = _("Enter a title.")
    elif len(data.title.strip()) > 120:
        problems["title"] = _("The title may be at most 120 characters.")
    if data.kind not in {k.value for k in EventKind}:
        problems["kind"] = _("Choose a kind of event from the list.")
    if data.ends_at <= data.starts_at:
        problems["ends_at"] = _("The event must end after it starts.")
    if data.signup_opens_at and data.signup_closes_at and data.signup_closes_at <= data.signup_opens_at:
        problems["signup_closes_at"] = _("Sign-up must close after it opens.")
    elif data.signup_closes_at and data.signup_closes_at >= data.ends_at:
        problems["signup_closes_at"] = _("Sign-up must close before the event ends.")
    if data.signup_opens_at and data.signup_opens_at >= data.ends_at:
        problems["signup_opens_at"] = _("Sign-up must open before the event ends.")
    if (data.latitude is None) != (data.longitude is None):
        missing = "longitude" if data.longitude is None else "latitude"
        problems[missing] = _("Enter both latitude and longitude, or neither.")
    if data.latitude is not None and not -90 <= data.latitude <= 90:
        problems["latitude"] = _("Latitude must be between -90 and 90.")
    if data.longitude is not None and not -180 <= data.longitude <= 180:
        problems["longitude"] = _("Longitude must be between -180 and 180.")
    if data.checkin_radius_m is not None:
        if data.latitude is None or data.longitude is None:
            problems["checkin_radius_m"] = _("A check-in radius needs the event's coordinates.")
        elif not 0 < data.checkin_radius_m <= MAX_RADIUS_M:
            problems["checkin_radius_m"] = _("The radius must be between 1 and %(max)s metres.", max=MAX_RADIUS_M)
    if data.geofence_mode not in {m.value for m in GeofenceMode}:
        problems["geofence_mode"] = _("Choose what happens outside the radius.")
    if not 0 <= data.cancel_cutoff_hours <= MAX_CUTOFF_HOURS:
        problems["cancel_cutoff_hours"] = _("The cut-off must be between 0 and %(max)s hours.", max=MAX_CUTOFF_HOURS)
    if not 0 <= data.checkin_opens_minutes <= MAX_CHECKIN_OPENS_MINUTES:
        problems["checkin_opens_minutes"] = _(
            "Check-in may open at most %(max)s minutes before a shift.", max=MAX_CHECKIN_OPENS_MINUTES
        )
    if data.grants_credential_type_id is not None:
        if data.kind not in CREDENTIAL_KINDS:
            problems["grants_credential_type_id"] = _("Only training courses grant a credential.")
        elif db.session.get(CredentialType, data.grants_credential_type_id) is None:
            problems["grants_credential_type_id"] = _("Choose a credential from the list.")
    return problems


def _check_valid(data: EventData) -> None:
    problems = event_problems(data)
    if problems:
        name, message = next(iter(problems.items()))
        raise ValidationFailed(message, field=name, code="invalid_event")


def _organizer(by: User, organization_id: int) -> Organization:
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise ValidationFailed(_("Choose the organizer from the list."), field="organization_id")
    if not can_manage(by, organization):
        raise PermissionDenied(_("You do not coordinate events of this organization."), code="not_coordinator")
    return organization


def require_manager(by: User, event: Event) -> None:
    """Refuse unless `by` coordinates the event's organizer."""
    if not can_manage(by, event.organization):
        raise PermissionDenied(_("You do not coordinate this event."), code="not_coordinator")


def require_not_cancelled(event: Event) -> None:
    """Refuse changes to a cancelled event."""
    if event.status == EventStatus.CANCELLED.value:
        raise Conflict(_("This event is cancelled and can no longer be changed."), code="event_cancelled")


def _snapshot(event: Event) -> dict:
    return {
        "title": event.title,
        "kind": event.kind,
        "organization_id": event.organization_id,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "place": event.place,
        "status": event.status,
    }


def _apply(event: Event, data: EventData) -> None:
    event.title = data.title.strip()
    event.kind = data.kind
    event.organization_id = data.organization_id
    event.starts_at = data.starts_at
    event.ends_at = data.ends_at
    event.place = data.place.strip()
    event.latitude = data.latitude
    event.longitude = data.longitude
    event.checkin_radius_m = data.checkin_radius_m
    event.geofence_mode = data.geofence_mode
    event.description = data.description.strip()
    event.brand_tag = data.brand_tag.strip()
    event.signup_opens_at = data.signup_opens_at
    event.signup_closes_at = data.signup_closes_at
    event.cancel_cutoff_hours = data.cancel_cutoff_hours
    event.allow_walk_ins = data.allow_walk_ins
    event.checkin_opens_minutes = data.checkin_opens_minutes
    event.grants_credential_type_id = data.grants_credential_type_id


def create_event(data: EventData, *, by: User, now: datetime) -> Event:
    """Create a draft event organized by an organization the coordinator manages."""
    organization = _organizer(by, data.organization_id)
    _check_valid(data)
    event = Event(status=EventStatus.DRAFT.value, created_by_id=by.id, created_at=now, updated_at=now)
    _apply(event, data)
    event.organization = organization
    db.session.add(event)
    db.session.flush()
    audit.record(
        "event.create", actor=by, now=now, target=event, organization_id=event.organization_id, after=_snapshot(event)
    )
    return event


def shift_span(event: Event) -> tuple[datetime | None, datetime | None]:
    """Earliest start and latest end of the event's shifts that are not cancelled."""
    start, end = db.session.execute(
        select(func.min(Shift.starts_at), func.max(Shift.ends_at)).where(
            Shift.event_id == event.id, Shift.is_cancelled.is_(False)
        )
    ).one()
    return start, end


def live_assignees(event: Event) -> list[int]:
    """Ids of volunteers with a live (assigned or waitlisted) place in the event."""
    return list(
        db.session.scalars(
            select(Assignment.user_id.distinct())
            .join(Shift, Shift.id == Assignment.shift_id)
            .where(Shift.event_id == event.id, Assignment.status.in_(LIVE_STATUSES))
        )
    )


def update_event(event: Event, data: EventData, *, by: User, now: datetime) -> Event:
    """Change an event; its shifts must still fit in its time, and volunteers hear of a new time or place."""
    require_manager(by, event)
    require_not_cancelled(event)
    if data.organization_id != event.organization_id:
        _organizer(by, data.organization_id)
    _check_valid(data)
    first, last = shift_span(event)
    if first is not None and last is not None and (first < data.starts_at or last > data.ends_at):
        raise ValidationFailed(
            _("Some shifts lie outside this time range; move or cancel them first."),
            field="starts_at",
            code="shifts_outside_event",
        )
    before = _snapshot(event)
    moved = (event.starts_at, event.ends_at, event.place) != (data.starts_at, data.ends_at, data.place.strip())
    _apply(event, data)
    event.updated_at = now
    db.session.flush()
    if moved and event.is_published:
        for user_id in live_assignees(event):
            notify(
                user_id,
                "event_changed",
                now=now,
                link=f"/events/{event.id}",
                params={
                    "event_id": event.id,
                    "event_title": event.title,
                    "starts_at": event.starts_at.isoformat(),
                    "place": event.place,
                },
            )
    audit.record(
        "event.update",
        actor=by,
        now=now,
        target=event,
        organization_id=event.organization_id,
        before=before,
        after=_snapshot(event),
    )
    return event


def publish_event(event: Event, *, by: User, now: datetime) -> Event:
    """Make a draft event visible to volunteers; it needs at least one shift."""
    require_manager(by, event)
    require_not_cancelled(event)
    if event.is_published:
        raise Conflict(_("This event is already published."), code="already_published")
    shifts = db.session.scalar(
        select(func.count(Shift.id)).where(Shift.event_id == event.id, Shift.is_cancelled.is_(False))
    )
    if not shifts:
        raise Conflict(_("Add at least one shift before publishing."), code="no_shifts")
    event.status = EventStatus.PUBLISHED.value
    event.published_at = now
    event.updated_at = now
    db.session.flush()
    audit.record("event.publish", actor=by, now=now, target=event, organization_id=event.organization_id)
    return event


def free_assignments(shift_filter: ColumnElement[bool], *, now: datetime) -> list[tuple[int, int]]:
    """Cancel the shifts matched by `shift_filter` and every live assignment on them; (user id, shift id) freed.

    The shifts are marked cancelled first: that takes their rows, so a concurrent sign-up
    either committed before (and is cancelled here) or finds the shift cancelled.
    """
    db.session.execute(
        update(Shift).where(shift_filter).values(is_cancelled=True).execution_options(synchronize_session=False)
    )
    freed = db.session.execute(
        select(Assignment.user_id, Assignment.shift_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(shift_filter, Assignment.status.in_(LIVE_STATUSES))
        .order_by(Assignment.id)
    ).all()
    shift_ids = select(Shift.id).where(shift_filter).scalar_subquery()
    db.session.execute(
        update(Assignment)
        .where(Assignment.shift_id.in_(shift_ids), Assignment.status.in_(LIVE_STATUSES))
        .values(status=AssignmentStatus.CANCELLED.value, cancelled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    # places stay held only by no-shows and completed service (see events.signup.places)
    held = (
        select(func.count(Assignment.id))
        .where(Assignment.shift_id == Shift.id, Assignment.status.in_(HELD_STATUSES))
        .correlate(Shift)
        .scalar_subquery()
    )
    db.session.execute(
        update(Shift).where(shift_filter).values(assigned_count=held).execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return [(user_id, shift_id) for user_id, shift_id in freed]


def cancel_event(event: Event, *, by: User, now: datetime, reason: str = "") -> Event:
    """Cancel an event: every live assignment is cancelled and each volunteer is told once."""
    require_manager(by, event)
    require_not_cancelled(event)
    freed = free_assignments(Shift.event_id == event.id, now=now)
    event.status = EventStatus.CANCELLED.value
    event.cancelled_at = now
    event.updated_at = now
    db.session.flush()
    for user_id in sorted({user_id for user_id, _shift in freed}):
        notify(
            user_id,
            "event_cancelled",
            now=now,
            link=f"/events/{event.id}",
            dedupe_key=f"event_cancelled:{event.id}:{user_id}",
            params={
                "event_id": event.id,
                "event_title": event.title,
                "starts_at": event.starts_at.isoformat(),
                "reason": reason.strip(),
            },
        )
    audit.record(
        "event.cancel",
        actor=by,
        now=now,
        target=event,
        organization_id=event.organization_id,
        note=reason.strip(),
        after={"assignments_cancelled": len(freed)},
    )
    return event


# Positions ---------------------------------------------------------------------------------


def _check_position(event: Event, data: PositionData, position: Position | None = None) -> None:
    name = data.name.strip()
    if not name:
        raise ValidationFailed(_("Enter a name."), field="name")
    if len(name) > 60:
        raise ValidationFailed(_("The name may be at most 60 characters."), field="name")
    if not 0 <= data.min_age <= 100:
        raise ValidationFailed(_("The minimum age must be between 0 and 100."), field="min_age")
    clash = db.session.scalar(select(Position.id).where(Position.event_id == event.id, Position.name == name))
    if clash is not None and (position is None or clash != position.id):
        raise ValidationFailed(
            _("This event already has a position with that name."), field="name", code="duplicate_position"
        )


def _apply_position(position: Position, data: PositionData) -> None:
    position.name = data.name.strip()
    position.description = data.description.strip()
    position.min_age = data.min_age
    position.required_skills = list(
        db.session.scalars(select(Skill).where(Skill.id.in_(data.skill_ids or [-1])).order_by(Skill.id))
    )
    position.required_credentials = list(
        db.session.scalars(
            select(CredentialType)
            .where(CredentialType.id.in_(data.credential_type_ids or [-1]))
            .order_by(CredentialType.id)
        )
    )


def create_position(event: Event, data: PositionData, *, by: User, now: datetime) -> Position:
    """Add a position (with its requirements) to an event."""
    require_manager(by, event)
    require_not_cancelled(event)
    _check_position(event, data)
    position = Position(event_id=event.id)
    _apply_position(position, data)
    db.session.add(position)
    db.session.flush()
    audit.record(
        "position.create",
        actor=by,
        now=now,
        target=position,
        organization_id=event.organization_id,
        after={"name": position.name},
    )
    return position


def update_position(position: Position, data: PositionData, *, by: User, now: datetime) -> Position:
    """Change a position's name, description or requirements (existing assignments stay)."""
    event = position.event
    require_manager(by, event)
    require_not_cancelled(event)
    _check_position(event, data, position)
    before = {"name": position.name, "min_age": position.min_age}
    _apply_position(position, data)
    db.session.flush()
    audit.record(
        "position.update",
        actor=by,
        now=now,
        target=position,
        organization_id=event.organization_id,
        before=before,
        after={"name": position.name, "min_age": position.min_age},
    )
    return position


def delete_position(position: Position, *, by: User, now: datetime) -> None:
    """Delete a position and its shifts; refused while any volunteer is or was on one of them."""
    event = position.event
    require_manager(by, event)
    used = db.session.scalar(
        select(func.count(Assignment.id))
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Shift.position_id == position.id, Assignment.status != AssignmentStatus.CANCELLED.value)
    )
    if used:
        raise Conflict(
            _("Volunteers are on shifts of this position; cancel those shifts instead."), code="position_in_use"
        )
    audit.record(
        "position.delete",
        actor=by,
        now=now,
        target=position,
        organization_id=event.organization_id,
        before={"name": position.name},
    )
    db.session.delete(position)
    db.session.flush()
