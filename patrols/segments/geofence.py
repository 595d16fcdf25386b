"""The patrol check-in fence: a scan must lie within the segment's distance of the segment's line.

Registered with checkin.engine.geofence at import (patrols/__init__.py imports this module), so the scan
engine asks it about every river-patrol event it scans at; it answers for the events that belong to a segment
(generated patrol shifts and any shift a coordinator added by hand alike).
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from checkin.engine.geofence import Fence, register_fence_provider
from events.models import EventKind
from patrols.segments.geometry import distance_to_polyline_m
from patrols.segments.models import RiverSegment


def segment_of_event(event_id: int) -> RiverSegment | None:
    """The segment whose patrol event this is, if any."""
    return db.session.scalar(select(RiverSegment).where(RiverSegment.event_id == event_id))


def patrol_fence(event_id: int, event_kind: str) -> Fence | None:
    """(the segment's line, its limit, its mode) for a patrol event; None for other events."""
    if event_kind != EventKind.RIVER_PATROL.value:
        return None
    segment = segment_of_event(event_id)
    if segment is None:
        return None
    points = list(segment.points)
    return Fence(
        lambda latitude, longitude: distance_to_polyline_m((latitude, longitude), points),
        float(segment.checkin_distance_m),
        segment.geofence_mode,
    )


register_fence_provider(patrol_fence, event_kinds={EventKind.RIVER_PATROL.value})
