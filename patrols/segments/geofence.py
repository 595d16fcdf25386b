"""The patrol check-in fence: a scan must lie within the segment's distance of the segment's line.

Registered with checkin.scanning.geofence at import (patrols/__init__.py imports this module), so the scan
engine asks it about every shift; it answers only for shifts of a river-patrol event that belongs to
a segment (generated patrol shifts and any shift a coordinator added by hand alike).
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from checkin.scanning.geo import Position
from checkin.scanning.geofence import ShiftFence, register_fence_provider
from events.models import EventKind, Shift
from patrols.segments.geometry import distance_to_polyline_m
from patrols.segments.models import RiverSegment


def segment_of_event(event_id: int) -> RiverSegment | None:
    """The segment whose patrol event this is, if any."""
    return db.session.scalar(select(RiverSegment).where(RiverSegment.event_id == event_id))


def patrol_fence(shift: Shift, position: Position | None) -> ShiftFence | None:
    """(distance to the segment's line, the segment's limit, its mode) for a patrol shift; None for other shifts."""
    if shift.event.kind != EventKind.RIVER_PATROL.value:
        return None
    segment = segment_of_event(shift.event_id)
    if segment is None:
        return None
    distance = None
    if position is not None:
        distance = distance_to_polyline_m((position.latitude, position.longitude), segment.points)
    return ShiftFence(distance, float(segment.checkin_distance_m), segment.geofence_mode)


register_fence_provider(patrol_fence, event_kinds={EventKind.RIVER_PATROL.value})
