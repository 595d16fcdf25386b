"""Walk-ins, the geofence, and the manual fallback by mobile number."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import PermissionDenied, ValidationFailed
from checkin.engine.geo import haversine_m, read_position
from checkin.scanning.services import ScanRefused, manual_check, scan_badge, scan_kiosk
from events.models import Assignment, Shift
from tests.support import attendance_of

MINUTE = timedelta(minutes=1)
SITE = (23.0205, 113.7518)  # 南城街道, roughly
NEAR = (23.0210, 113.7520)  # ~60 m away
FAR = (23.0400, 113.7518)  # ~2.2 km away


def refused(call) -> ScanRefused:
    with pytest.raises(ScanRefused) as caught:
        call()
    return caught.value


@pytest.fixture
def walk_in_event(event, db):
    event.allow_walk_ins = True
    db.session.commit()
    return event


def test_walk_in_creates_the_assignment(db, walk_in_event, shift, volunteer, kiosk, audits, now):
    result = scan_kiosk(kiosk(now), volunteer, now=now)
    db.session.commit()
    assert (result.action, result.result) == ("check_in", "ok") and result.shift.id == shift.id
    assignment = db.session.get(Assignment, attendance_of(result).assignment_id)
    assert (assignment.status, assignment.source, assignment.user_id) == ("assigned", "walk_in", volunteer.id)
    assert db.session.get(Shift, shift.id).assigned_count == 1
    assert [a.target_id for a in audits("assignment.walk_in")] == [assignment.id]


def test_walk_in_respects_capacity(db, walk_in_event, position, make_shift, assign, make_user, volunteer, kiosk, now):
    full = make_shift(position, starts_at=now - 30 * MINUTE, capacity=1)
    assign(full, make_user())
    assert refused(lambda: scan_kiosk(kiosk(now), volunteer, now=now)).code == "shift_full"
    assert db.session.get(Shift, full.id).assigned_count == 1


def test_walk_in_takes_the_next_open_shift_with_room(
    db, walk_in_event, position, make_shift, assign, make_user, volunteer, kiosk, now
):
    full = make_shift(position, starts_at=now - 30 * MINUTE, capacity=1)
    assign(full, make_user())
    soon = make_shift(position, starts_at=now + 15 * MINUTE, capacity=3)
    assert scan_kiosk(kiosk(now), volunteer, now=now).shift.id == soon.id


def test_walk_in_still_needs_the_positions_skills(
    db, walk_in_event, make_position, make_shift, make_skill, volunteer, kiosk, now
):
    interpreter = make_position(walk_in_event, name="翻译", skills=[make_skill("英语")])
    make_shift(interpreter, starts_at=now - 30 * MINUTE)
    refusal = refused(lambda: scan_kiosk(kiosk(now), volunteer, now=now))
    assert refusal.code == "walk_in_refused" and "英语" in refusal.message


def test_no_walk_ins_without_an_open_shift(db, walk_in_event, position, make_shift, volunteer, kiosk, now):
    make_shift(position, starts_at=now + 3 * 60 * MINUTE)
    assert refused(lambda: scan_kiosk(kiosk(now), volunteer, now=now)).code == "not_open_yet"


def test_haversine_and_position_validation():
    assert haversine_m(*SITE, *SITE) == 0
    assert 50 < haversine_m(*SITE, *NEAR) < 70
    assert 2000 < haversine_m(*SITE, *FAR) < 2300
    assert read_position(None, None) is None
    for bad in ((91, 0), (0, 181), ("x", 1), (float("nan"), 1), (1, None)):
        with pytest.raises(ValidationFailed):
            read_position(*bad)


@pytest.fixture
def geofenced(event, db):
    """geofenced(mode) -> the event, with a 100 m radius around SITE, refusing or flagging outsiders."""

    def make(mode: str):
        event.latitude, event.longitude = SITE
        event.checkin_radius_m = 100
        event.geofence_mode = mode
        db.session.commit()
        return event

    return make


def test_geofence_inside_is_accepted(db, geofenced, shift, assignment, volunteer, kiosk, attendances, now):
    geofenced("refuse")
    result = scan_kiosk(kiosk(now), volunteer, now=now, latitude=NEAR[0], longitude=NEAR[1], accuracy_m=15)
    assert result.action == "check_in" and result.flags == []
    [attendance] = attendances(volunteer)
    assert (attendance.in_latitude, attendance.in_longitude, attendance.in_accuracy_m) == (*NEAR, 15)


@pytest.mark.parametrize("where", [FAR, None])
def test_geofence_refuses_outside_or_unknown_position(
    db, geofenced, shift, assignment, volunteer, kiosk, scans, attendances, now, where
):
    geofenced("refuse")
    latitude, longitude = where or (None, None)
    refusal = refused(lambda: scan_kiosk(kiosk(now), volunteer, now=now, latitude=latitude, longitude=longitude))
    assert refusal.code == "outside_radius"
    assert attendances(volunteer) == [] and scans()[-1].result == "outside_radius"


@pytest.mark.parametrize("where", [FAR, None])
def test_geofence_flags_outside_or_unknown_position(
    db, geofenced, shift, assignment, volunteer, kiosk, attendances, now, where
):
    geofenced("flag")
    latitude, longitude = where or (None, None)
    result = scan_kiosk(kiosk(now), volunteer, now=now, latitude=latitude, longitude=longitude)
    assert result.action == "check_in" and result.flags == ["outside_radius"]
    assert attendances(volunteer)[0].outside_radius is True


def test_geofence_forgives_the_reported_accuracy_at_the_edge(db, geofenced, shift, assignment, volunteer, kiosk, now):
    geofenced("refuse")
    edge = (23.0217, 113.7518)  # ~133 m: outside 100 m, but within it given a 40 m fix
    assert (
        scan_kiosk(kiosk(now), volunteer, now=now, latitude=edge[0], longitude=edge[1], accuracy_m=40).action
        == "check_in"
    )


def test_badge_scans_are_geofenced_by_the_scanning_phone(
    db, geofenced, shift, assignment, volunteer, coordinator, badge, now
):
    geofenced("refuse")
    assert (
        refused(
            lambda: scan_badge(
                badge(volunteer, now), geofenced("refuse"), by=coordinator, now=now, latitude=FAR[0], longitude=FAR[1]
            )
        ).code
        == "outside_radius"
    )


def test_manual_check_in_and_out_by_mobile(
    db, event, shift, assignment, volunteer, coordinator, attendances, scans, audits, now
):
    result = manual_check(
        event, f"+86 {volunteer.mobile[:3]}-{volunteer.mobile[3:]}", by=coordinator, now=now, reason="手机没电"
    )
    db.session.commit()
    assert (result.action, result.result) == ("check_in", "ok")
    [attendance] = attendances(volunteer)
    assert attendance.check_in_method == "manual" and attendance.note == "手机没电"
    assert scans()[-1].method == "manual" and scans()[-1].note == "手机没电"
    [entry] = audits("attendance.manual_check_in")
    assert entry.actor_id == coordinator.id and entry.note == "手机没电" and entry.target_id == attendance.id
    out = manual_check(event, volunteer.mobile, by=coordinator, now=now + 60 * MINUTE, reason="手机没电")
    assert out.action == "check_out" and len(audits("attendance.manual_check_out")) == 1


def test_manual_check_ignores_the_geofence(db, geofenced, shift, assignment, volunteer, coordinator, now):
    geofenced("refuse")
    assert (
        manual_check(geofenced("refuse"), volunteer.mobile, by=coordinator, now=now, reason="定位失败").action
        == "check_in"
    )


def test_manual_check_needs_a_reason_a_known_mobile_and_a_coordinator(
    db, event, shift, assignment, volunteer, coordinator, outsider, scans, now
):
    with pytest.raises(ValidationFailed) as caught:
        manual_check(event, volunteer.mobile, by=coordinator, now=now, reason="  ")
    assert caught.value.code == "reason_required" and caught.value.field == "reason"
    with pytest.raises(ValidationFailed) as caught:
        manual_check(event, "12345", by=coordinator, now=now, reason="手机没电")
    assert caught.value.field == "mobile"
    assert (
        refused(lambda: manual_check(event, "13000000000", by=coordinator, now=now, reason="手机没电")).code
        == "volunteer_unknown"
    )
    assert scans()[-1].result == "volunteer_unknown"
    for by in (volunteer, outsider):
        with pytest.raises(PermissionDenied):
            manual_check(event, volunteer.mobile, by=by, now=now, reason="手机没电")


def test_walk_in_by_badge_and_at_a_shift_kiosk(
    db, walk_in_event, position, shift, make_shift, make_user, coordinator, kiosk, badge, now
):
    other = make_shift(position, starts_at=now - 20 * MINUTE, capacity=2)
    first, second = make_user(), make_user()
    by_badge = scan_badge(badge(first, now), walk_in_event, by=coordinator, now=now)
    assert by_badge.action == "check_in" and by_badge.shift.id == shift.id  # the shift under way, started first
    assert db.session.get(Assignment, attendance_of(by_badge).assignment_id).created_by_id == coordinator.id
    at_kiosk = scan_kiosk(kiosk(now, other), second, now=now)
    assert at_kiosk.shift.id == other.id
