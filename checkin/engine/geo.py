"""Positions and the event's own check-in circle: is a reported position inside the event's radius? (pure)"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

from flask_babel import gettext as _

from app.errors import ValidationFailed

#: a reported coordinate as it came: a number (the API), text (a form) or nothing
Coordinate = float | str | None

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)


class Position(NamedTuple):
    """A browser-reported position; accuracy in metres when the browser gives one."""

    latitude: float
    longitude: float
    accuracy_m: float | None = None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points, in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _number(value: float | str, low: float, high: float, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (low <= number <= high):  # also refuses NaN
        raise ValidationFailed(_("The reported position is not valid."), code="invalid_position", field=field)
    return number


def read_position(latitude: Coordinate, longitude: Coordinate, accuracy_m: Coordinate = None) -> Position | None:
    """A validated Position, or None when no position was given; raises ValidationFailed on nonsense."""
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise ValidationFailed(
            _("The reported position is not valid."),
            code="invalid_position",
            field="latitude" if latitude is None else "longitude",
        )
    accuracy = None if accuracy_m is None else _number(accuracy_m, 0, 1_000_000, "accuracy_m")
    return Position(_number(latitude, -90, 90, "latitude"), _number(longitude, -180, 180, "longitude"), accuracy)


class Circle(Protocol):
    """What the circle is read from: an Event, or the engine's snapshot of one."""

    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...
    @property
    def checkin_radius_m(self) -> int | None: ...


def has_geofence(event: Circle) -> bool:
    """True when the event sets a location and a radius."""
    return event.latitude is not None and event.longitude is not None and bool(event.checkin_radius_m)


def inside_geofence(event: Circle, position: Position | None, *, allowance_m: float) -> bool:
    """True when the position lies inside the event's radius (a missing position is outside).

    The reported accuracy, up to `allowance_m` (CHECKIN_GEOFENCE_ACCURACY_ALLOWANCE_M), is forgiven: a phone
    standing at the edge with a 30 m fix is given the benefit of the doubt.
    """
    if not has_geofence(event):
        return True
    if position is None:
        return False
    allowance = min(position.accuracy_m or 0.0, allowance_m)
    assert event.latitude is not None and event.longitude is not None and event.checkin_radius_m  # has_geofence
    distance = haversine_m(event.latitude, event.longitude, position.latitude, position.longitude)
    return distance - allowance <= event.checkin_radius_m
