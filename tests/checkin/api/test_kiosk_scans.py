"""POST /api/v1/kiosk-scans: the volunteer's phone checks in and out with the kiosk's rotating code."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checkin.models import Attendance


@pytest.fixture
def phone(session_api, volunteer):
    """The volunteer's phone, logged in."""
    return session_api(volunteer)


def test_a_kiosk_scan_checks_in_then_repeats(phone, kiosk, volunteer, shift, assignment, attendances, scan_log):
    result = phone.post(
        "/kiosk-scans", json={"token": kiosk(), "latitude": 23.02, "longitude": 113.75, "accuracy_m": 12.5}, expect=200
    ).get_json()
    assert result["ok"] is True and (result["action"], result["result"], result["code"]) == ("check_in", "ok", None)
    assert result["client_scan_id"] is None and result["position_name"] == "引导"
    assert result["volunteer"]["id"] == volunteer.id and result["shift"]["id"] == shift.id
    [attendance] = attendances(volunteer)
    assert attendance.check_in_method == "kiosk" and attendance.in_accuracy_m == 12.5
    assert result["attendance_id"] == attendance.id

    again = phone.post("/kiosk-scans", json={"token": kiosk()}, expect=200).get_json()
    assert (again["ok"], again["result"]) == (True, "repeat")
    assert [s.method for s in scan_log(user_id=volunteer.id)] == ["kiosk", "kiosk"]


def test_a_kiosk_scan_checks_out_after_the_repeat_window(
    app, phone, kiosk, volunteer, assignment, db, now, attendances
):
    phone.post("/kiosk-scans", json={"token": kiosk()}, expect=200)
    [attendance] = attendances(volunteer)
    # the check-in happened 40 minutes ago
    attendance.checked_in_at = now - timedelta(minutes=40)
    db.session.commit()
    out = phone.post("/kiosk-scans", json={"token": kiosk()}, expect=200).get_json()
    assert (out["action"], out["result"]) == ("check_out", "ok") and out["duration_minutes"] >= 40
    assert db.session.get(Attendance, attendance.id).status == "closed"


def test_kiosk_refusals_answer_their_codes_and_are_logged(
    phone, kiosk, badge, volunteer, assignment, make_event, now, scan_log, attendances
):
    elsewhere = make_event(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5))
    genuine = kiosk()
    cases = {
        "token_forged": genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB"),
        "token_expired": kiosk(now - timedelta(minutes=5)),
        "token_wrong_kind": badge(volunteer),
        "token_too_long": "K." + "k" * 10 * 1024,
        "token_malformed": "http://example.com/?t=K.1",
        "no_assignment": kiosk(of=elsewhere),
    }
    for code, token in cases.items():
        result = phone.post("/kiosk-scans", json={"token": token}, expect=200).get_json()
        assert (result["ok"], result["result"], result["code"]) == (False, "refused", code), result
        assert result["message"] and result["action"] == "none" and result["attendance_id"] is None
    assert attendances(volunteer) == []
    assert sorted(s.result for s in scan_log(method="kiosk")) == sorted(cases)


def test_outside_a_refusing_geofence_is_refused(
    phone, make_event, make_position, make_shift, assign, volunteer, kiosk, now, attendances
):
    fenced = make_event(
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=5),
        latitude=23.0206,
        longitude=113.7518,
        checkin_radius_m=200,
        geofence_mode="refuse",
    )
    shift = make_shift(make_position(fenced), starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=2))
    assign(shift, volunteer)
    far = phone.post(
        "/kiosk-scans",
        expect=200,
        json={"token": kiosk(of=fenced), "latitude": 23.1, "longitude": 113.9, "accuracy_m": 10},
    ).get_json()
    assert (far["ok"], far["code"]) == (False, "outside_radius")
    near = phone.post(
        "/kiosk-scans",
        expect=200,
        json={"token": kiosk(of=fenced), "latitude": 23.0207, "longitude": 113.7519, "accuracy_m": 10},
    ).get_json()
    assert near["ok"] and near["action"] == "check_in" and near["flags"] == []
    assert len(attendances(volunteer)) == 1


def test_a_bearer_caller_scans_as_itself(token_api, volunteer, assignment, kiosk, attendances):
    result = token_api(volunteer).post("/kiosk-scans", json={"token": kiosk()}, expect=200).get_json()
    assert result["volunteer"]["id"] == volunteer.id and len(attendances(volunteer)) == 1
