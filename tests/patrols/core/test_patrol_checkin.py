"""Patrol check-in and check-out must lie near the segment's line (refused or flagged per segment), and patrol
attendance becomes ledger minutes like any other shift."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from checkin.models import Attendance, AttendanceStatus
from checkin.scanning.services import ScanRefused, manual_check, scan_badge, scan_kiosk
from checkin.tokens import badge_token, kiosk_token
from events.models import Event
from events.signup import services as signup
from hours.ledger.models import HourEntry
from hours.ledger.services import collect_closed_attendances
from patrols.segments.geometry import EARTH_RADIUS_M, distance_to_polyline_m, haversine_m
from tests.factories import RIVER_LINE as LINE
from tests.support import attendance_of
from tests.support import local_utc as local

CREATED = local(2026, 1, 27, 10)
START = local(2026, 1, 31, 9)  # the first Saturday patrol, 09:00-11:00 Beijing time
END = local(2026, 1, 31, 11)
DEGREE_M = EARTH_RADIUS_M * math.pi / 180
#: 50 m north of the middle of the first piece: near the line, ~500 m from the start, ~1.9 km from the end
NEAR = (23.0200 + 50 / DEGREE_M, 113.7550)
#: inside the event's circle, ~890 m from the line
FAR = (23.0280, 113.7550)


@pytest.fixture
def patrol(db, make_segment, make_schedule, patrol_shifts, volunteer):
    """patrol(mode) -> (segment, shift of 2026-01-31) with the volunteer signed up."""

    def make(mode: str = "refuse"):
        segment = make_segment(now=CREATED, geofence_mode=mode, checkin_distance_m=200)
        make_schedule(segment, now=CREATED)
        shift = dict(patrol_shifts(segment))[date(2026, 1, 31)]
        signup.sign_up(shift, volunteer, now=CREATED)
        db.session.commit()
        return segment, shift

    return make


def _kiosk(segment, volunteer, at, position):
    lat, lon = position if position else (None, None)
    token = kiosk_token(segment.event_id, shift_id=None, now=at)
    return scan_kiosk(token, volunteer, now=at, latitude=lat, longitude=lon, accuracy_m=10 if position else None)


def test_the_far_point_is_inside_the_events_circle_but_far_from_the_line(db, patrol):
    segment, _shift = patrol()
    event = db.session.get(Event, segment.event_id)

    assert distance_to_polyline_m(NEAR, LINE) == pytest.approx(50, abs=0.1)
    assert haversine_m(NEAR, LINE[0]) > 400 and haversine_m(NEAR, LINE[-1]) > 1500
    assert distance_to_polyline_m(FAR, LINE) > 800
    assert haversine_m((event.latitude, event.longitude), FAR) < event.checkin_radius_m  # only the line refuses it


def test_near_the_line_far_from_both_ends_is_accepted(db, patrol, volunteer):
    segment, shift = patrol("refuse")

    result = _kiosk(segment, volunteer, START + timedelta(minutes=2), NEAR)
    db.session.commit()

    assert result.action == "check_in" and result.flags == [] and result.shift.id == shift.id
    assert attendance_of(result).outside_radius is False


def test_far_from_the_line_is_refused_when_the_segment_refuses(db, patrol, volunteer):
    segment, _shift = patrol("refuse")

    with pytest.raises(ScanRefused) as refused:
        _kiosk(segment, volunteer, START, FAR)
    db.session.commit()

    assert refused.value.code == "outside_radius"
    assert db.session.scalars(select(Attendance)).all() == []


def test_without_a_position_a_refusing_segment_refuses(db, patrol, volunteer):
    segment, _shift = patrol("refuse")

    with pytest.raises(ScanRefused) as refused:
        _kiosk(segment, volunteer, START, None)

    assert refused.value.code == "outside_radius"


def test_far_from_the_line_is_flagged_when_the_segment_flags(db, patrol, volunteer):
    segment, _shift = patrol("flag")

    result = _kiosk(segment, volunteer, START, FAR)
    db.session.commit()

    assert result.action == "check_in" and "outside_radius" in result.flags
    assert attendance_of(result).outside_radius is True


def test_check_out_far_from_the_line_is_refused_and_near_it_accepted(db, patrol, volunteer):
    segment, _shift = patrol("refuse")
    _kiosk(segment, volunteer, START, NEAR)
    db.session.commit()

    with pytest.raises(ScanRefused) as refused:
        _kiosk(segment, volunteer, END - timedelta(minutes=5), FAR)
    db.session.commit()
    assert refused.value.code == "outside_radius"
    [open_one] = db.session.scalars(select(Attendance)).all()
    assert open_one.status == AttendanceStatus.OPEN.value

    result = _kiosk(segment, volunteer, END, NEAR)
    db.session.commit()
    assert result.action == "check_out" and attendance_of(result).status == AttendanceStatus.CLOSED.value


def test_check_out_far_from_the_line_is_flagged_when_the_segment_flags(db, patrol, volunteer):
    segment, _shift = patrol("flag")
    _kiosk(segment, volunteer, START, NEAR)
    db.session.commit()

    result = _kiosk(segment, volunteer, END, FAR)
    db.session.commit()

    assert result.action == "check_out" and "outside_radius" in result.flags


def test_the_river_chief_scans_badges_from_the_river(db, patrol, volunteer, chief):
    segment, _shift = patrol("refuse")
    event = db.session.get(Event, segment.event_id)

    with pytest.raises(ScanRefused):
        scan_badge(badge_token(volunteer.id, now=START), event, by=chief, now=START, latitude=FAR[0], longitude=FAR[1])
    db.session.commit()
    result = scan_badge(
        badge_token(volunteer.id, now=START + timedelta(minutes=1)),
        event,
        by=chief,
        now=START + timedelta(minutes=1),
        latitude=NEAR[0],
        longitude=NEAR[1],
    )
    db.session.commit()

    assert result.action == "check_in" and attendance_of(result).checked_in_by_id == chief.id


def test_a_manual_check_in_by_the_chief_needs_no_position(db, patrol, volunteer, chief):
    segment, _shift = patrol("refuse")
    event = db.session.get(Event, segment.event_id)

    result = manual_check(event, volunteer.mobile, by=chief, now=START, reason="手机没电")

    assert result.action == "check_in"


def test_only_patrol_shifts_are_fenced_by_the_segment(db, patrol, coordinator, orgs):
    from checkin.engine.geofence import fence_for
    from events.manage import services as manage
    from events.manage.shifts import ShiftData, create_shift

    _segment, shift = patrol()
    event = manage.create_event(
        manage.EventData(
            title="社区服务", kind="community", organization_id=orgs["nancheng"].id, starts_at=START, ends_at=END
        ),
        by=coordinator,
        now=CREATED,
    )
    position = manage.create_position(event, manage.PositionData(name="引导"), by=coordinator, now=CREATED)
    other = create_shift(position, ShiftData(starts_at=START, ends_at=END, capacity=2), by=coordinator, now=CREATED)

    fence = fence_for(shift.event_id, "river_patrol")
    assert (fence.distance_m(None), fence.limit_m, fence.mode) == (None, 200, "refuse")
    assert fence_for(other.event_id, "community") is None


def test_patrol_attendance_becomes_ledger_minutes(db, patrol, volunteer):
    segment, shift = patrol("refuse")
    _kiosk(segment, volunteer, START, NEAR)
    db.session.commit()
    _kiosk(segment, volunteer, END, NEAR)
    db.session.commit()

    made = collect_closed_attendances(now=END + timedelta(minutes=5), event_id=segment.event_id)
    db.session.commit()

    [entry] = db.session.scalars(select(HourEntry).where(HourEntry.volunteer_id == volunteer.id)).all()
    assert made == 1
    assert (entry.minutes, entry.shift_id, entry.event_id) == (120, shift.id, segment.event_id)
    assert entry.organization_id == segment.team_id and entry.service_date == date(2026, 1, 31)


@pytest.mark.parametrize("walk_ins, expected", [(True, "check_in"), (False, "no_assignment")])
def test_walk_ins_follow_the_segment(db, make_segment, make_schedule, make_user, walk_ins, expected):
    segment = make_segment(now=CREATED, allow_walk_ins=walk_ins)
    make_schedule(segment, now=CREATED)
    walker = make_user(name="路人甲")

    try:
        outcome = _kiosk(segment, walker, START, NEAR).action
    except ScanRefused as refused:
        outcome = refused.code
    db.session.commit()

    assert outcome == expected
