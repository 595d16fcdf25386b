"""Geometry of river segments: lengths, distance from a point to the segment's line, the drawn sketch.

Points are (latitude, longitude) in degrees (WGS-84 as phones report them). Distances near a
point use a local equirectangular projection centred on that point, exact enough (well under a
metre) at the scale of a river segment.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)

Point = tuple[float, float]


def haversine_m(a: Sequence[float], b: Sequence[float]) -> float:
    """Great-circle distance in metres between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def polyline_length_m(points: Sequence[Sequence[float]]) -> int:
    """Length in whole metres of the line through the points (haversine, summed)."""
    return round(sum(haversine_m(p, q) for p, q in itertools.pairwise(points)))


def _local_xy(origin: Sequence[float], point: Sequence[float]) -> tuple[float, float]:
    """Metres east and north of `origin` (equirectangular projection at the origin's latitude)."""
    d_lon = point[1] - origin[1]
    d_lon = (d_lon + 180.0) % 360.0 - 180.0  # across the antimeridian, the short way
    x = math.radians(d_lon) * EARTH_RADIUS_M * math.cos(math.radians(origin[0]))
    y = math.radians(point[0] - origin[0]) * EARTH_RADIUS_M
    return x, y


def _origin_to_segment(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance from (0, 0) to the segment a-b in a plane."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(a[0] * dx + a[1] * dy) / length2))
    return math.hypot(a[0] + t * dx, a[1] + t * dy)


def distance_to_polyline_m(point: Sequence[float], line: Sequence[Sequence[float]]) -> float:
    """Shortest distance in metres from `point` to the line through `line`'s points.

    Each piece of the line is projected into a plane centred on `point`; the point is projected
    onto each piece (clamped to its ends) and the minimum is taken.
    """
    if not line:
        raise ValueError("a line needs at least one point")
    xy = [_local_xy(point, p) for p in line]
    if len(xy) == 1:
        return math.hypot(*xy[0])
    return min(_origin_to_segment(a, b) for a, b in itertools.pairwise(xy))


def enclosing_circle(line: Sequence[Sequence[float]], margin_m: float) -> tuple[float, float, int]:
    """(lat, lon, radius in metres) of a circle holding every point within `margin_m` of the line.

    The centre is the middle of the bounding box; the radius is the farthest vertex plus the
    margin (any point of the line lies between two vertices, so no nearer the edge than they are),
    plus 1% and 10 m of slack for the projection.
    """
    lats = [p[0] for p in line]
    lons = [p[1] for p in line]
    centre = ((min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2)
    farthest = max(haversine_m(centre, p) for p in line)
    return centre[0], centre[1], math.ceil((farthest + margin_m) * 1.01 + 10)


@dataclass
class Sketch:
    """An SVG drawing of a line: the polyline's points in the box's coordinates, and its ends."""

    width: int
    height: int
    path: str
    start: tuple[float, float]
    end: tuple[float, float]
    vertices: list[tuple[float, float]]


def sketch(line: Iterable[Sequence[float]], *, width: int = 320, height: int = 200, pad: int = 16) -> Sketch:
    """Project the line into a width×height box (equirectangular, north up, aspect kept)."""
    points = [(float(p[0]), float(p[1])) for p in line]
    mid_lat = (min(p[0] for p in points) + max(p[0] for p in points)) / 2
    scale_x = math.cos(math.radians(mid_lat))
    xs = [p[1] * scale_x for p in points]
    ys = [p[0] for p in points]
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    unit = min((width - 2 * pad) / (span_x or 1e-12), (height - 2 * pad) / (span_y or 1e-12))
    # centre the drawing in the box
    off_x = (width - span_x * unit) / 2
    off_y = (height - span_y * unit) / 2
    placed = [
        (round(off_x + (x - min(xs)) * unit, 1), round(height - off_y - (y - min(ys)) * unit, 1))
        for x, y in zip(xs, ys, strict=False)
    ]
    path = "M " + " L ".join(f"{x} {y}" for x, y in placed)
    return Sketch(width, height, path, placed[0], placed[-1], placed)
