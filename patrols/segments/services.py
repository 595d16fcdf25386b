"""River segments: create and edit them (with their patrol event), and parse the points of their line.

Each segment owns one river-patrol event (kind "river_patrol", organized by the adopting team) with
one position (巡河), created through events.manage.services when the segment is created. The event carries a
circle holding the whole line plus the segment's check-in distance: the check-in pages then ask for
the phone's position, and the precise test (distance to the line) is patrols.segments.geofence's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_create_segment_for, can_manage_segment, can_move_segment_to
from checkin.scanning.services import normalize_mobile
from events.manage import services as manage
from events.models import EventKind, GeofenceMode
from patrols.segments.geometry import enclosing_circle, polyline_length_m
from patrols.segments.models import DEFAULT_CHECKIN_DISTANCE_M, RiverSegment
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization, OrgKind

MIN_DISTANCE_M, MAX_DISTANCE_M = 10, 5_000
MAX_POINTS = 500
_SEPARATOR = re.compile(r"\s*[,，;；\s]\s*")


@dataclass
class SegmentData:
    """A segment as a coordinator states it; `points` are (lat, lon) pairs (see parse_points)."""

    river_name: str
    name: str
    town_id: int | None
    team_id: int | None
    points: list[tuple[float, float]]
    chief_mobile: str = ""
    checkin_distance_m: int = DEFAULT_CHECKIN_DISTANCE_M
    geofence_mode: str = GeofenceMode.REFUSE.value
    allow_walk_ins: bool = True
    description: str = ""
    is_active: bool = True


def parse_points(text: str) -> list[tuple[float, float]]:
    """Points from text, one "lat,lon" per line (blank lines ignored); ValidationFailed on the first bad line."""
    points: list[tuple[float, float]] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p for p in _SEPARATOR.split(line) if p]
        try:
            lat, lon = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
        except ValueError:
            lat = lon = math.nan
        if math.isnan(lat) or math.isnan(lon):
            raise ValidationFailed(
                _("Line %(line)s: write latitude,longitude, e.g. 23.0207,113.7518.", line=number),
                field="points",
                code="invalid_point",
            )
        if not -90 <= lat <= 90:
            raise ValidationFailed(
                _("Line %(line)s: the latitude must be between -90 and 90.", line=number),
                field="points",
                code="invalid_point",
            )
        if not -180 <= lon <= 180:
            raise ValidationFailed(
                _("Line %(line)s: the longitude must be between -180 and 180.", line=number),
                field="points",
                code="invalid_point",
            )
        points.append((lat, lon))
    if len(points) > MAX_POINTS:
        raise ValidationFailed(
            _("Enter at most %(max)s points.", max=MAX_POINTS), field="points", code="too_many_points"
        )
    if len(points) < 2:
        raise ValidationFailed(
            _("Enter at least two points: the start and the end of the segment."), field="points", code="too_few_points"
        )
    return points


def points_text(segment: RiverSegment) -> str:
    """The segment's points as the form shows them, one "lat,lon" per line."""
    return "\n".join(f"{lat:.6f},{lon:.6f}" for lat, lon in segment.points)


def _chief(mobile: str) -> User | None:
    digits = normalize_mobile(mobile)
    if not digits:
        return None
    return db.session.scalar(select(User).where(User.mobile == digits, User.is_disabled.is_(False)))


def segment_problems(data: SegmentData, segment: RiverSegment | None = None) -> dict[str, str]:
    """Every rule the segment data breaks, as {field: readable message}; empty when valid."""
    problems: dict[str, str] = {}
    river, name = data.river_name.strip(), data.name.strip()
    if not river:
        problems["river_name"] = _("Enter the river's name.")
    elif len(river) > 60:
        problems["river_name"] = _("The river's name may be at most 60 characters.")
    if not name:
        problems["name"] = _("Enter the segment's name.")
    elif len(name) > 80:
        problems["name"] = _("The segment's name may be at most 80 characters.")
    elif river:
        clash = db.session.scalar(
            select(RiverSegment.id).where(RiverSegment.river_name == river, RiverSegment.name == name)
        )
        if clash is not None and (segment is None or clash != segment.id):
            problems["name"] = _("This river already has a segment with that name.")
    town = db.session.get(Organization, data.town_id) if data.town_id else None
    if town is None or town.kind != OrgKind.TOWN.value:
        problems["town_id"] = _("Choose the town or street the segment lies in.")
    team = db.session.get(Organization, data.team_id) if data.team_id else None
    if team is None or team.kind != OrgKind.TEAM.value:
        problems["team_id"] = _("Choose the volunteer team that adopts the segment.")
    if data.chief_mobile.strip() and _chief(data.chief_mobile) is None:
        problems["chief_mobile"] = _("No active volunteer has this mobile number.")
    if not MIN_DISTANCE_M <= data.checkin_distance_m <= MAX_DISTANCE_M:
        problems["checkin_distance_m"] = _(
            "The distance must be between %(low)s and %(high)s metres.", low=MIN_DISTANCE_M, high=MAX_DISTANCE_M
        )
    if data.geofence_mode not in {m.value for m in GeofenceMode}:
        problems["geofence_mode"] = _("Choose what happens to a check-in farther away.")
    if len(data.points) < 2:
        problems["points"] = _("Enter at least two points: the start and the end of the segment.")
    elif polyline_length_m(data.points) == 0:
        problems["points"] = _("The points must not all be the same place.")
    elif enclosing_circle(data.points, data.checkin_distance_m)[2] > manage.MAX_RADIUS_M:
        problems["points"] = _("The segment is too long for one patrol: split it into shorter segments.")
    if len(data.description.strip()) > 5_000:
        problems["description"] = _("The description may be at most 5000 characters.")
    return problems


def _check(data: SegmentData, segment: RiverSegment | None = None) -> None:
    problems = segment_problems(data, segment)
    if problems:
        name, message = next(iter(problems.items()))
        raise ValidationFailed(message, field=name, code="invalid_segment")


def _apply(segment: RiverSegment, data: SegmentData) -> None:
    segment.river_name = data.river_name.strip()
    segment.name = data.name.strip()
    assert data.town_id is not None and data.team_id is not None  # _check refused a segment without them
    segment.town_id = data.town_id
    segment.team_id = data.team_id
    chief = _chief(data.chief_mobile)
    segment.chief_id = chief.id if chief is not None else None
    segment.set_points(data.points)
    segment.checkin_distance_m = data.checkin_distance_m
    segment.geofence_mode = data.geofence_mode
    segment.allow_walk_ins = data.allow_walk_ins
    segment.description = data.description.strip()
    segment.is_active = data.is_active


def _snapshot(segment: RiverSegment) -> dict:
    return {
        "river_name": segment.river_name,
        "name": segment.name,
        "town_id": segment.town_id,
        "team_id": segment.team_id,
        "chief_id": segment.chief_id,
        "points": segment.points,
        "length_m": segment.length_m,
        "checkin_distance_m": segment.checkin_distance_m,
        "geofence_mode": segment.geofence_mode,
        "allow_walk_ins": segment.allow_walk_ins,
        "is_active": segment.is_active,
    }


def event_title(segment: RiverSegment) -> str:
    """The patrol event's title, e.g. "River patrol · 东莞运河 南城段"."""
    return _("River patrol · %(river)s %(segment)s", river=segment.river_name, segment=segment.name)[:120]


def _event_data(segment: RiverSegment, *, now: datetime) -> manage.EventData:
    lat, lon, radius = enclosing_circle(segment.points, segment.checkin_distance_m)
    return manage.EventData(
        title=event_title(segment),
        kind=EventKind.RIVER_PATROL.value,
        organization_id=segment.team_id,
        starts_at=now,
        ends_at=now + timedelta(days=1),
        place=f"{segment.river_name} {segment.name}"[:200],
        latitude=lat,
        longitude=lon,
        checkin_radius_m=radius,
        geofence_mode=segment.geofence_mode,
        description=segment.description,
        allow_walk_ins=segment.allow_walk_ins,
    )


def create_segment(data: SegmentData, *, by: User, now: datetime) -> RiverSegment:
    """Create a segment and its (draft) river-patrol event with one position; published with its first shifts."""
    _check(data)
    if not can_create_segment_for(by, db.session.get(Organization, data.team_id)):
        raise PermissionDenied(
            _("Choose a team you coordinate: the team organizes the segment's patrols."),
            code="not_team_coordinator",
            field="team_id",
        )
    segment = RiverSegment(created_by_id=by.id, created_at=now, updated_at=now)
    _apply(segment, data)
    db.session.add(segment)
    db.session.flush()
    event = manage.create_event(_event_data(segment, now=now), by=by, now=now)
    position = manage.create_position(
        event, manage.PositionData(name=_("Patrol"), description=segment.display_name), by=by, now=now
    )
    segment.event_id, segment.position_id = event.id, position.id
    db.session.flush()
    audit.record(
        "segment.create", actor=by, now=now, target=segment, organization_id=segment.team_id, after=_snapshot(segment)
    )
    return segment


def _sync_event(segment: RiverSegment, *, now: datetime) -> None:
    """Keep the patrol event's organizer, title, place, walk-ins and check-in circle in line with the segment."""
    event = segment.event
    if event is None:
        return
    data = _event_data(segment, now=now)
    event.title, event.place, event.organization_id = data.title, data.place, segment.team_id
    event.latitude, event.longitude, event.checkin_radius_m = data.latitude, data.longitude, data.checkin_radius_m
    event.geofence_mode, event.allow_walk_ins = data.geofence_mode, data.allow_walk_ins
    event.description = data.description
    event.updated_at = now


def update_segment(segment: RiverSegment, data: SegmentData, *, by: User, now: datetime) -> RiverSegment:
    """Change a segment (and its patrol event); deactivating it cancels its empty future patrols."""
    from patrols.segments.schedules import generate_for_schedule, reconcile_schedule, tell_chief_about_kept

    if not can_manage_segment(by, segment):
        raise PermissionDenied(_("You do not coordinate this river segment."), code="not_segment_coordinator")
    _check(data, segment)
    town, team = db.session.get(Organization, data.town_id), db.session.get(Organization, data.team_id)
    if data.team_id != segment.team_id and not can_create_segment_for(by, team):
        raise PermissionDenied(
            _("Choose a team you coordinate: the team organizes the segment's patrols."),
            code="not_team_coordinator",
            field="team_id",
        )
    if data.town_id != segment.town_id and not can_move_segment_to(by, town, team):
        raise PermissionDenied(
            _("You do not coordinate that town or team."), code="not_segment_coordinator", field="town_id"
        )
    before = _snapshot(segment)
    was_active = segment.is_active
    _apply(segment, data)
    segment.updated_at = now
    _sync_event(segment, now=now)
    db.session.flush()
    if was_active and not segment.is_active:
        kept = []
        for schedule in segment.schedules:
            kept += reconcile_schedule(schedule, now=now).kept
        tell_chief_about_kept(segment, kept, now=now)
    elif segment.is_active and not was_active:
        for schedule in segment.schedules:
            generate_for_schedule(schedule, now=now)
    audit.record(
        "segment.update",
        actor=by,
        now=now,
        target=segment,
        organization_id=segment.team_id,
        before=before,
        after=_snapshot(segment),
    )
    return segment
