"""Events and positions: browse for everyone logged in; create, edit, publish, cancel for coordinators."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased, selectinload

from api import serializers
from api.auth import load, referenced, require
from api.openapi import operation
from api.schemas import DATE_TIME, ID, PAGING, query
from app.errors import NotFound
from app.extensions import db
from app.permissions import can_manage, can_manage_event, can_view_event, subtree_filter
from app.timeutil import utcnow
from events.manage import services as manage
from events.models import Event, EventKind, EventStatus, Position
from events.signup import browse
from volunteers.organizations.models import Organization

EVENT_QUERY = [
    query("from", DATE_TIME, "Events not yet over at this time (default: now)."),
    query("to", DATE_TIME, "Events starting before this time."),
    query("kind", {"type": "string", "enum": [k.value for k in EventKind]}, "Kind of event."),
    query("organization_id", ID, "Organized by this organization or anywhere below it."),
    query(
        "status",
        {"type": "string", "enum": [s.value for s in EventStatus], "default": "published"},
        "Published events for everyone; draft and cancelled ones of the organizations you coordinate.",
    ),
    *PAGING,
]


def visible_event(event_id: int) -> Event:
    """The event, or 404 when it does not exist or the caller may not see it (a draft of another team)."""
    event = load(Event, event_id, _("No such event."))
    if not can_view_event(current_user, event):
        raise NotFound(_("No such event."))
    return event


def managed_event(event_id: int) -> Event:
    """A visible event the caller coordinates, or 403."""
    event = visible_event(event_id)
    require(can_manage_event(current_user, event), _("You do not coordinate this event."), "not_coordinator")
    return event


def _organization(organization_id: int) -> Organization:
    return referenced(
        Organization, organization_id, _("No such organization."), field="organization_id", code="unknown_organization"
    )


def _detail(event: Event) -> dict:
    event = db.session.execute(
        select(Event)
        .where(Event.id == event.id)
        .options(
            selectinload(Event.positions).selectinload(Position.required_skills),
            selectinload(Event.positions).selectinload(Position.required_credentials),
        )
    ).scalar_one()
    return serializers.event_detail(event)


@operation("/events", summary="List events", tag="events", response="EventPage", query=EVENT_QUERY, errors=(404,))
def list_events(query):
    """Published events, soonest first, filtered by time, kind and organizer (drafts: your own organizations)."""
    if query["status"] == EventStatus.PUBLISHED.value:
        filters = browse.EventFilters(kind=query["kind"])
        statement = browse.published_events_query(filters, now=query["from"] or utcnow())
    else:
        statement = browse.managed_events_query(current_user, status=query["status"])
        if query["kind"]:
            statement = statement.where(Event.kind == query["kind"])
        if query["from"]:
            statement = statement.where(Event.ends_at > query["from"])
    if query["to"]:
        statement = statement.where(Event.starts_at < query["to"])
    if query["organization_id"]:
        organizer = _organization(query["organization_id"])
        alias = aliased(Organization)
        statement = statement.join(alias, alias.id == Event.organization_id).where(
            subtree_filter(alias.path, [organizer.path])
        )
    pagination = db.paginate(
        statement, page=query["page"], per_page=query["per_page"], error_out=False, max_per_page=100
    )
    return serializers.page(pagination, serializers.event)


@operation("/events/<int:event_id>", summary="Show an event with its positions", tag="events", response="EventDetail")
def get_event(event_id: int):
    """One event with its positions and their requirements."""
    return _detail(visible_event(event_id))


def _event_data(event: Event | None, changes: dict) -> manage.EventData:
    """The service's EventData: the event's current values overlaid with the fields the client sent."""
    values = {f.name: getattr(event, f.name) for f in fields(manage.EventData)} if event is not None else {}
    values.update(changes)
    return manage.EventData(**values)


@operation(
    "/events",
    "POST",
    summary="Create a draft event",
    tag="events",
    response="EventDetail",
    status=201,
    body="EventCreate",
    errors=(403, 404),
)
def create_event(body):
    """Create a draft event for an organization you coordinate."""
    organizer = _organization(body["organization_id"])
    require(
        can_manage(current_user, organizer), _("You do not coordinate events of this organization."), "not_coordinator"
    )
    event = manage.create_event(_event_data(None, body), by=current_user, now=utcnow())
    db.session.commit()
    return _detail(event)


@operation(
    "/events/<int:event_id>",
    "PATCH",
    summary="Edit an event",
    tag="events",
    response="EventDetail",
    body="EventUpdate",
    errors=(403, 409),
)
def update_event(event_id: int, body):
    """Change the fields given; moving to another organizer needs coordination of that one too."""
    event = managed_event(event_id)
    if "organization_id" in body and body["organization_id"] != event.organization_id:
        organizer = _organization(body["organization_id"])
        require(
            can_manage(current_user, organizer),
            _("You do not coordinate events of this organization."),
            "not_coordinator",
        )
    manage.update_event(event, _event_data(event, body), by=current_user, now=utcnow())
    db.session.commit()
    return _detail(event)


@operation(
    "/events/<int:event_id>/publish",
    "POST",
    summary="Publish a draft event",
    tag="events",
    response="EventDetail",
    errors=(403, 409),
)
def publish_event(event_id: int):
    """Make a draft event visible to volunteers (it needs a shift)."""
    event = managed_event(event_id)
    manage.publish_event(event, by=current_user, now=utcnow())
    db.session.commit()
    return _detail(event)


@operation(
    "/events/<int:event_id>/cancel",
    "POST",
    summary="Cancel an event",
    tag="events",
    response="EventDetail",
    body="CancelRequest",
    body_required=False,
    errors=(403, 409),
)
def cancel_event(event_id: int, body):
    """Cancel an event; every volunteer on it is released and told."""
    event = managed_event(event_id)
    manage.cancel_event(event, by=current_user, now=utcnow(), reason=body.get("reason", ""))
    db.session.commit()
    return _detail(event)


def _position_data(position: Position | None, changes: dict) -> manage.PositionData:
    values: dict[str, Any] = {}
    if position is not None:
        values = {
            "name": position.name,
            "description": position.description,
            "min_age": position.min_age,
            "skill_ids": [s.id for s in position.required_skills],
            "credential_type_ids": [c.id for c in position.required_credentials],
        }
    values.update(changes)
    return manage.PositionData(**values)


def _position(position: Position) -> dict:
    loaded = db.session.get(Position, position.id)
    assert loaded is not None  # the position just written
    return serializers.position(loaded)


@operation(
    "/events/<int:event_id>/positions",
    "POST",
    summary="Add a position to an event",
    tag="positions",
    response="Position",
    status=201,
    body="PositionCreate",
    errors=(403, 409),
)
def create_position(event_id: int, body):
    """Add a position with its requirements (skills, training, minimum age)."""
    event = managed_event(event_id)
    position = manage.create_position(event, _position_data(None, body), by=current_user, now=utcnow())
    db.session.commit()
    return _position(position)


@operation("/positions/<int:position_id>", summary="Show a position", tag="positions", response="Position")
def get_position(position_id: int):
    """One position of a visible event."""
    position = load(Position, position_id, _("No such position."))
    visible_event(position.event_id)
    return serializers.position(position)


@operation(
    "/positions/<int:position_id>",
    "PATCH",
    summary="Edit a position",
    tag="positions",
    response="Position",
    body="PositionUpdate",
    errors=(403, 409),
)
def update_position(position_id: int, body):
    """Change the fields given of a position."""
    position = load(Position, position_id, _("No such position."))
    managed_event(position.event_id)
    manage.update_position(position, _position_data(position, body), by=current_user, now=utcnow())
    db.session.commit()
    return _position(position)
