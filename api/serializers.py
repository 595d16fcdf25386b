"""Model → JSON for the API, field for field as api/schemas.py documents it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from app.extensions import db
from events.models import LIVE_STATUSES, Assignment, AssignmentStatus, Event, Position, Shift
from volunteers.accounts.models import Skill, User
from volunteers.organizations.models import Organization


def iso(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 with its offset (UTC as stored)."""
    return value.isoformat() if value is not None else None


def organization_ref(org: Organization) -> dict:
    return {"id": org.id, "name": org.name, "short_name": org.short_name}


def skill(item: Skill) -> dict:
    return {"id": item.id, "name": item.name, "name_en": item.name_en, "kind": item.kind}


def event(item: Event) -> dict:
    return {
        "id": item.id,
        "title": item.title,
        "kind": item.kind,
        "status": item.status,
        "organization": organization_ref(item.organization),
        "starts_at": iso(item.starts_at),
        "ends_at": iso(item.ends_at),
        "place": item.place,
        "latitude": item.latitude,
        "longitude": item.longitude,
        "checkin_radius_m": item.checkin_radius_m,
        "geofence_mode": item.geofence_mode,
        "description": item.description,
        "brand_tag": item.brand_tag,
        "signup_opens_at": iso(item.signup_opens_at),
        "signup_closes_at": iso(item.signup_closes_at),
        "cancel_cutoff_hours": item.cancel_cutoff_hours,
        "allow_walk_ins": item.allow_walk_ins,
        "checkin_opens_minutes": item.checkin_opens_minutes,
        "grants_credential_type_id": item.grants_credential_type_id,
        "published_at": iso(item.published_at),
        "cancelled_at": iso(item.cancelled_at),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


def position(item: Position) -> dict:
    return {
        "id": item.id,
        "event_id": item.event_id,
        "name": item.name,
        "description": item.description,
        "min_age": item.min_age,
        "required_skills": [skill(s) for s in item.required_skills],
        "required_credentials": [{"id": c.id, "name": c.name} for c in item.required_credentials],
    }


def event_detail(item: Event) -> dict:
    return {**event(item), "positions": [position(p) for p in item.positions]}


def waitlist_lengths(shift_ids: list[int]) -> dict[int, int]:
    """Waitlisted volunteers per shift, in one grouped query."""
    if not shift_ids:
        return {}
    return dict(
        db.session.execute(
            select(Assignment.shift_id, func.count(Assignment.id))
            .where(Assignment.shift_id.in_(shift_ids), Assignment.status == AssignmentStatus.WAITLISTED.value)
            .group_by(Assignment.shift_id)
        )
        .tuples()
        .all()
    )


def live_places(user: User, shift_ids: list[int]) -> dict[int, Assignment]:
    """The user's live (assigned or waitlisted) assignment per shift, in one query."""
    if not shift_ids:
        return {}
    return {
        a.shift_id: a
        for a in db.session.scalars(
            select(Assignment).where(
                Assignment.shift_id.in_(shift_ids), Assignment.user_id == user.id, Assignment.status.in_(LIVE_STATUSES)
            )
        )
    }


def shifts(items: list[Shift], viewer: User) -> list[dict]:
    """Shifts with open places, waitlist length and the viewer's own place, in two extra queries."""
    ids = [s.id for s in items]
    waiting, mine = waitlist_lengths(ids), live_places(viewer, ids)
    return [shift(s, waitlisted=waiting.get(s.id, 0), mine=mine.get(s.id)) for s in items]


def shift(item: Shift, *, waitlisted: int, mine: Assignment | None) -> dict:
    return {
        "id": item.id,
        "event_id": item.event_id,
        "position": {"id": item.position.id, "name": item.position.name},
        "starts_at": iso(item.starts_at),
        "ends_at": iso(item.ends_at),
        "capacity": item.capacity,
        "assigned_count": item.assigned_count,
        "open_places": item.open_places,
        "waitlisted_count": waitlisted,
        "meeting_point": item.meeting_point,
        "is_cancelled": item.is_cancelled,
        "my_place": {"assignment_id": mine.id, "status": mine.status} if mine is not None else None,
    }


def assignment(item: Assignment) -> dict:
    on = item.shift
    return {
        "id": item.id,
        "status": item.status,
        "source": item.source,
        "volunteer": {"id": item.user.id, "name": item.user.name, "volunteer_number": item.user.volunteer_number},
        "shift": {
            "id": on.id,
            "starts_at": iso(on.starts_at),
            "ends_at": iso(on.ends_at),
            "meeting_point": on.meeting_point,
            "is_cancelled": on.is_cancelled,
        },
        "position": {"id": on.position.id, "name": on.position.name},
        "event": {"id": on.event.id, "title": on.event.title, "status": on.event.status, "place": on.event.place},
        "quota_organization_id": item.quota_organization_id,
        "override_rules": [rule for rule in (item.override_rule or "").split(",") if rule],
        "override_reason": item.override_reason or "",
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "cancelled_at": iso(item.cancelled_at),
    }


def page(pagination: Pagination, serialize: Callable[[Any], dict]) -> dict:
    """A flask_sqlalchemy Pagination as the documented page envelope."""
    return {
        "items": [serialize(item) for item in pagination.items],
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total or 0,
        "pages": pagination.pages,
    }
