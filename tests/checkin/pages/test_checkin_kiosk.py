"""The kiosk: the coordinator's rotating QR page, and the volunteer's phone opening it, through the login
detour, to a check-in, a check-out or a refusal in plain words."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from app.timeutil import utcnow
from checkin.kiosk.routes import KIOSK_SESSION
from checkin.models import Attendance, Scan
from checkin.qr import qr_svg
from checkin.scanning.services import scan_kiosk
from checkin.tokens import badge_token, kiosk_token, parse_kiosk_token, window_seconds
from tests.support import PASSWORD


def _windows_around(at):
    """The times of the token windows a request made at `at` may have used (it can cross a boundary)."""
    return [at - timedelta(seconds=window_seconds()), at, at + timedelta(seconds=window_seconds())]


def test_the_kiosk_page_shows_the_code_the_countdown_and_the_count(as_user, coordinator, event, shift, page_text):
    response = as_user(coordinator).get(f"/checkin/events/{event.id}/kiosk?shift_id={shift.id}")
    html = response.get_data(as_text=True)
    assert 'class="kiosk-mode"' in html
    assert f'src="/checkin/events/{event.id}/kiosk/qr.svg?shift_id={shift.id}"' in html
    assert 'id="kiosk-countdown"' in html and 'src="/static/js/kiosk.js"' in html
    assert "<script>" not in html and "style=" not in html  # the CSP forbids inline code and styles
    text = page_text(response)
    assert "南城文明交通劝导" in text and "路口引导" in text and "Checked in now 0" in text


def test_the_kiosk_qr_holds_the_absolute_url_of_a_kiosk_token_of_this_moment(app, as_user, coordinator, event, shift):
    before = utcnow()
    response = as_user(coordinator).get(f"/checkin/events/{event.id}/kiosk/qr.svg?shift_id={shift.id}")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<?xml") and b"<svg" in response.data
    assert 0 <= float(response.headers["X-QR-Rotates-In"]) <= window_seconds()
    expected = {
        qr_svg(f"http://localhost/k/{kiosk_token(event.id, shift_id=shift.id, now=at)}")
        for at in _windows_around(before)
    }
    assert response.data in expected


def test_public_base_url_is_used_for_the_kiosk_qr_when_configured(app, as_user, coordinator, event):
    app.config["PUBLIC_BASE_URL"] = "https://zyz.example.cn/"
    before = utcnow()
    data = as_user(coordinator).get(f"/checkin/events/{event.id}/kiosk/qr.svg").data
    assert data in {
        qr_svg(f"https://zyz.example.cn/k/{kiosk_token(event.id, shift_id=None, now=at)}")
        for at in _windows_around(before)
    }


def test_the_kiosk_count_polls_who_is_checked_in(db, as_user, coordinator, volunteer, event, shift, assignment, now):
    claim = parse_kiosk_token(kiosk_token(event.id, shift_id=None, now=now), now=now)
    scan_kiosk(claim, volunteer, now=now)
    db.session.commit()
    body = as_user(coordinator).get(f"/checkin/events/{event.id}/kiosk/status.json").get_json()
    assert body["checked_in"] == 1 and 0 <= body["rotates_in"] <= window_seconds()
    assert (
        as_user(coordinator)
        .get(f"/checkin/events/{event.id}/kiosk/status.json?shift_id={shift.id}")
        .get_json()["checked_in"]
        == 1
    )


def _counts(db):
    db.session.expire_all()
    return (db.session.scalar(select(func.count(Attendance.id))), db.session.scalar(select(func.count(Scan.id))))


def test_anonymous_phone_logs_in_on_the_way_and_is_checked_in(
    client, db, volunteer, event, shift, assignment, attendances, page_text
):
    token = kiosk_token(event.id, shift_id=None, now=utcnow())
    arrival = client.get(f"/k/{token}")
    assert arrival.status_code == 302 and arrival.headers["Location"] == "/checkin/kiosk"
    detour = client.get("/checkin/kiosk")
    assert detour.status_code == 302 and detour.headers["Location"] == "/login?next=" + quote("/checkin/kiosk", safe="")
    assert _counts(db) == (0, 0)  # opening the code changed nothing

    back = client.post(detour.headers["Location"], data={"mobile": volunteer.mobile, "password": PASSWORD})
    assert back.status_code == 302 and back.headers["Location"] == "/checkin/kiosk"
    page = client.get("/checkin/kiosk")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-geofence="0"' in html and 'src="/static/js/kiosk-scan.js"' in html
    assert "Check in now" in page_text(page)
    assert _counts(db) == (0, 0)  # GET never changes state

    done = client.post("/checkin/kiosk", data={})
    assert done.status_code == 302 and done.headers["Location"] == "/checkin/kiosk/done"
    [attendance] = attendances(volunteer)
    assert attendance.status == "open" and attendance.check_in_method == "kiosk" and attendance.shift_id == shift.id
    confirmation = client.get("/checkin/kiosk/done")
    text = page_text(confirmation)
    assert confirmation.status_code == 200 and 'class="card narrow result-card result-ok"' in confirmation.get_data(
        as_text=True
    )
    assert "Checked in" in text and "路口引导" in text and "Running for 0 min" in text
    # the code was used up: reopening the check-in page asks for a new scan
    assert client.get("/checkin/kiosk").status_code == 410


def test_the_code_is_remembered_for_a_few_minutes_beyond_its_own_validity(
    client, login, volunteer, event, shift, assignment, attendances
):
    login(volunteer)
    arrived = utcnow() - timedelta(minutes=3)  # the token itself expired long ago; it was valid on arrival
    with client.session_transaction() as sess:
        sess[KIOSK_SESSION] = {
            "token": kiosk_token(event.id, shift_id=None, now=arrived),
            "arrived": arrived.timestamp(),
        }
    assert client.post("/checkin/kiosk").status_code == 302
    assert [a.status for a in attendances(volunteer)] == ["open"]


def test_a_code_opened_too_long_ago_asks_for_a_new_scan(
    client, login, db, volunteer, event, shift, assignment, page_text
):
    login(volunteer)
    arrived = utcnow() - timedelta(minutes=6)
    with client.session_transaction() as sess:
        sess[KIOSK_SESSION] = {
            "token": kiosk_token(event.id, shift_id=None, now=arrived),
            "arrived": arrived.timestamp(),
        }
    response = client.post("/checkin/kiosk")
    assert response.status_code == 410 and "Scan the code again" in page_text(response)
    assert _counts(db) == (0, 0)
    # a session value that was tampered with or is nonsense is treated the same way
    with client.session_transaction() as sess:
        sess[KIOSK_SESSION] = {"token": "K.1..1.x", "arrived": "soon"}
    assert client.get("/checkin/kiosk").status_code == 410


@pytest.mark.parametrize(
    "kind, message",
    [
        ("expired", "This code has expired. Scan the code on the screen now."),
        ("forged", "This code is not genuine."),
        ("badge", "This is a different kind of code: scan the site's check-in code."),
        ("oversized", "This is not a check-in code of this system."),
        ("garbage", "This is not a check-in code of this system."),
    ],
)
def test_bad_codes_are_refused_on_arrival_in_plain_words(kind, message, client, db, event, page_text):
    now = utcnow()
    good = kiosk_token(event.id, shift_id=None, now=now)
    token = {
        "expired": kiosk_token(event.id, shift_id=None, now=now - timedelta(minutes=5)),
        "forged": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "badge": badge_token(1, now=now),
        "oversized": "K." + "a" * 10_240,
        "garbage": "hello",
    }[kind]
    response = client.get(f"/k/{token}")
    assert response.status_code == 409
    assert message in page_text(response)
    with client.session_transaction() as sess:
        assert KIOSK_SESSION not in sess
    assert _counts(db) == (0, 0)


def test_a_second_scan_later_checks_out_with_the_duration(
    client, login, db, volunteer, event, shift, assignment, attendances, page_text
):
    earlier = utcnow() - timedelta(minutes=75)
    scan_kiosk(
        parse_kiosk_token(kiosk_token(event.id, shift_id=None, now=earlier), now=earlier), volunteer, now=earlier
    )
    db.session.commit()
    login(volunteer)
    client.get(f"/k/{kiosk_token(event.id, shift_id=None, now=utcnow())}")
    page = client.get("/checkin/kiosk")
    assert "Check out now" in page_text(page) and "You checked in at" in page_text(page)
    client.post("/checkin/kiosk")
    [attendance] = attendances(volunteer)
    assert attendance.status == "closed" and attendance.check_out_method == "kiosk"
    text = page_text(client.get("/checkin/kiosk/done"))
    assert "Checked out" in text and "Duration 1 h 15 min" in text


def test_a_volunteer_without_a_shift_sees_the_refusal_and_it_is_logged(
    client, login, volunteer, event, shift, scans, attendances, page_text
):
    login(volunteer)
    client.get(f"/k/{kiosk_token(event.id, shift_id=None, now=utcnow())}")
    assert client.post("/checkin/kiosk").headers["Location"] == "/checkin/kiosk/done"
    done = client.get("/checkin/kiosk/done")
    text = page_text(done)
    assert "Not checked in" in text and "No shift at this event is assigned to this volunteer." in text
    assert 'data-code="no_assignment"' in done.get_data(as_text=True)
    assert "Try again" in text  # the code is still remembered for a retry
    assert attendances(volunteer) == []
    assert [(s.result, s.method, s.user_id) for s in scans()] == [("no_assignment", "kiosk", volunteer.id)]


def test_a_geofenced_event_asks_for_the_position_and_refuses_far_away_phones(
    client, login, db, volunteer, event, shift, assignment, attendances, page_text
):
    event.latitude, event.longitude, event.checkin_radius_m, event.geofence_mode = 23.02, 113.75, 200, "refuse"
    db.session.commit()
    login(volunteer)
    client.get(f"/k/{kiosk_token(event.id, shift_id=None, now=utcnow())}")
    page = client.get("/checkin/kiosk")
    assert 'data-geofence="1"' in page.get_data(as_text=True) and "allow location access" in page_text(page)

    invalid = client.post("/checkin/kiosk", data={"latitude": "abc", "longitude": "113.75"})
    assert invalid.status_code == 422 and "The reported position is not valid." in page_text(invalid)
    assert 'data-auto="0"' in invalid.get_data(as_text=True)  # no automatic resubmission after an error

    client.post("/checkin/kiosk", data={"latitude": "23.10", "longitude": "113.75", "accuracy_m": "10"})
    assert "The position is outside the event's check-in area." in page_text(client.get("/checkin/kiosk/done"))
    assert attendances(volunteer) == []

    client.post("/checkin/kiosk", data={"latitude": "23.0201", "longitude": "113.7501", "accuracy_m": "15"})
    [attendance] = attendances(volunteer)
    assert attendance.status == "open" and attendance.in_latitude == pytest.approx(23.0201)


def test_the_confirmation_belongs_to_the_volunteer_who_scanned(
    client, login, make_user, volunteer, event, shift, assignment
):
    login(volunteer)
    client.get(f"/k/{kiosk_token(event.id, shift_id=None, now=utcnow())}")
    client.post("/checkin/kiosk")
    assert client.get("/checkin/kiosk/done").status_code == 200
    client.post("/logout")
    login(make_user(name="另一位"))
    assert client.get("/checkin/kiosk/done").status_code == 410


def test_a_shift_kiosk_checks_in_on_that_shift_only(
    client, login, volunteer, event, shift, make_shift, position, assign, now, attendances, page_text
):
    later = make_shift(position, starts_at=now + timedelta(hours=3), ends_at=now + timedelta(hours=5))
    assign(later, volunteer)
    login(volunteer)
    client.get(f"/k/{kiosk_token(event.id, shift_id=later.id, now=utcnow())}")
    client.post("/checkin/kiosk")
    assert "Check-in is not open yet" in page_text(client.get("/checkin/kiosk/done"))
    assert attendances(volunteer) == []
