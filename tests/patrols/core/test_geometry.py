"""Geometry with known answers: lengths, point-to-line distance, the enclosing circle, the sketch, point parsing."""

from __future__ import annotations

import math

import pytest

from app.errors import ValidationFailed
from patrols.segments.geometry import (
    EARTH_RADIUS_M,
    distance_to_polyline_m,
    enclosing_circle,
    haversine_m,
    polyline_length_m,
    sketch,
)
from patrols.segments.services import parse_points

DEGREE_M = EARTH_RADIUS_M * math.pi / 180  # one degree of latitude: about 111,195 m
LINE = [(23.0200, 113.7500), (23.0200, 113.7600), (23.0300, 113.7700)]


def test_one_degree_of_latitude_and_the_equator():
    assert haversine_m((0, 0), (1, 0)) == pytest.approx(DEGREE_M, rel=1e-9)
    assert haversine_m((0, 0), (0, 1)) == pytest.approx(DEGREE_M, rel=1e-9)
    assert polyline_length_m([(23.0, 113.75), (23.01, 113.75), (23.02, 113.75)]) == round(0.02 * DEGREE_M)


def test_a_point_on_the_line_is_at_distance_zero():
    assert distance_to_polyline_m((23.0200, 113.7550), LINE) == pytest.approx(0, abs=0.01)
    assert distance_to_polyline_m((23.0250, 113.7650), LINE) == pytest.approx(0, abs=0.5)
    assert distance_to_polyline_m(LINE[0], LINE) == pytest.approx(0, abs=0.01)


def test_perpendicular_distance_to_the_middle_of_a_piece_far_from_both_ends():
    north = 50 / DEGREE_M
    distance = distance_to_polyline_m((23.0200 + north, 113.7550), LINE)

    assert distance == pytest.approx(50, abs=0.05)
    assert haversine_m((23.0200 + north, 113.7550), LINE[0]) > 500  # far from the start ...
    assert haversine_m((23.0200 + north, 113.7550), LINE[-1]) > 1500  # ... and from the end


def test_beyond_an_end_the_distance_is_to_that_end():
    west = (23.0200, 113.7450)
    assert distance_to_polyline_m(west, LINE) == pytest.approx(haversine_m(west, LINE[0]), rel=1e-4)
    beyond_end = (23.0350, 113.7750)
    assert distance_to_polyline_m(beyond_end, LINE) == pytest.approx(haversine_m(beyond_end, LINE[-1]), rel=1e-4)


def test_the_nearest_piece_wins():
    # 100 m east of the north-east piece's middle is nearer to it than to the east-west piece
    middle = (23.0250, 113.7650)
    point = (middle[0], middle[1] + 100 / (DEGREE_M * math.cos(math.radians(middle[0]))))
    # the piece runs at 45° (in degrees, about 47° on the ground): the perpendicular is 100 m · sin(angle)
    dx = 0.01 * math.cos(math.radians(middle[0]))
    angle = math.atan2(0.01, dx)
    assert distance_to_polyline_m(point, LINE) == pytest.approx(100 * math.sin(angle), rel=1e-3)


def test_a_single_point_line_and_an_empty_line():
    assert distance_to_polyline_m((23.0, 113.0), [(23.001, 113.0)]) == pytest.approx(0.001 * DEGREE_M, rel=1e-6)
    with pytest.raises(ValueError):
        distance_to_polyline_m((23.0, 113.0), [])


def test_the_enclosing_circle_holds_every_point_within_the_margin():
    lat, lon, radius = enclosing_circle(LINE, 200)
    for index in range(100):
        t = index / 99
        a, b = (LINE[0], LINE[1]) if t < 0.5 else (LINE[1], LINE[2])
        s = (t * 2) % 1 if t < 0.5 else (t - 0.5) * 2
        on_line = (a[0] + s * (b[0] - a[0]), a[1] + s * (b[1] - a[1]))
        for bearing in range(0, 360, 45):
            d_lat = 200 * math.cos(math.radians(bearing)) / DEGREE_M
            d_lon = 200 * math.sin(math.radians(bearing)) / (DEGREE_M * math.cos(math.radians(on_line[0])))
            assert haversine_m((lat, lon), (on_line[0] + d_lat, on_line[1] + d_lon)) <= radius


def test_the_sketch_fits_the_box_north_up():
    drawing = sketch(LINE, width=320, height=200)

    assert drawing.path.startswith("M ") and drawing.path.count(" L ") == 2
    for x, y in drawing.vertices:
        assert 0 <= x <= 320 and 0 <= y <= 200
    assert drawing.end[1] < drawing.start[1]  # the end lies north: higher on the drawing
    assert drawing.end[0] > drawing.start[0]  # and east: to the right
    assert sketch([(23.0, 113.0), (23.0, 113.0)]).path  # a degenerate line still draws


def test_points_are_parsed_one_per_line():
    text = "23.0200,113.7500\n\n  23.0200 , 113.7600 \n23.0300，113.7700\n"
    assert parse_points(text) == LINE


@pytest.mark.parametrize(
    "text, message",
    [
        ("23.02,113.75", "at least two points"),
        ("", "at least two points"),
        ("23.02,113.75\nriver bank", "Line 2: write latitude,longitude"),
        ("23.02,113.75\n23.02;113.76;5", "Line 2: write latitude,longitude"),
        ("95,113.75\n23.02,113.76", "Line 1: the latitude must be between -90 and 90"),
        ("23.02,113.75\n23.02,190", "Line 2: the longitude must be between -180 and 180"),
        ("nan,113.75\n23.02,113.76", "Line 1: write latitude,longitude"),
    ],
)
def test_bad_points_are_refused_with_the_line(text, message):
    with pytest.raises(ValidationFailed) as refused:
        parse_points(text)
    assert message in refused.value.message and refused.value.field == "points"
