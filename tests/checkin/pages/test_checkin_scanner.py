"""The coordinator's badge scanner page and its manual fallback (mobile number with a required reason)."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parents[3] / "static"


def test_the_scanner_page_carries_the_camera_the_decoder_the_queue_and_the_sounds(as_user, coordinator, event):
    response = as_user(coordinator).get(f"/checkin/events/{event.id}/scanner")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="scanner-video"' in html and 'id="scan-result"' in html and 'id="scanner-pending-count"' in html
    assert 'data-api-url="/api/v1/scans"' in html and f'data-event-id="{event.id}"' in html
    assert 'src="/static/vendor/jsqr/jsQR.js"' in html and 'src="/static/js/scanner.js"' in html
    assert 'data-ok-sound="/static/audio/ok.wav"' in html and 'data-error-sound="/static/audio/error.wav"' in html
    assert "<script>" not in html and "style=" not in html
    for path in ("vendor/jsqr/jsQR.js", "vendor/jsqr/LICENSE", "audio/ok.wav", "audio/error.wav"):
        assert (STATIC / path).is_file(), path
    assert (STATIC / "audio/ok.wav").read_bytes()[:4] == b"RIFF"


def test_manual_check_in_by_mobile_number_with_a_reason(
    as_user, coordinator, volunteer, event, shift, assignment, attendances, audits, page_text
):
    user = as_user(coordinator)
    response = user.post(
        f"/checkin/events/{event.id}/manual",
        data={"mobile": f"{volunteer.mobile[:3]} {volunteer.mobile[3:7]} {volunteer.mobile[7:]}", "reason": "手机没电"},
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/checkin/events/{event.id}/scanner"
    [attendance] = attendances(volunteer)
    assert attendance.status == "open" and attendance.check_in_method == "manual" and attendance.note == "手机没电"
    assert [entry.actor_id for entry in audits("attendance.manual_check_in")] == [coordinator.id]
    assert "陈小明: Checked in at" in page_text(user.get(response.headers["Location"]))


def test_manual_check_in_needs_a_reason_and_a_mobile_number(
    as_user, coordinator, volunteer, event, shift, assignment, attendances, page_text
):
    user = as_user(coordinator)
    missing = user.post(f"/checkin/events/{event.id}/manual", data={"mobile": volunteer.mobile, "reason": "  "})
    assert missing.status_code == 422
    assert 'id="field-reason"' in missing.get_data(as_text=True)
    assert "Give a reason for checking in by hand." in page_text(missing)
    wrong = user.post(f"/checkin/events/{event.id}/manual", data={"mobile": "12345", "reason": "手机没电"})
    assert wrong.status_code == 422 and "Enter an 11-digit mobile number." in page_text(wrong)
    assert 'value="12345"' in wrong.get_data(as_text=True)  # what was typed stays in the form
    assert attendances(volunteer) == []


def test_manual_check_in_of_an_unknown_number_is_refused_and_logged(as_user, coordinator, event, scans, page_text):
    response = as_user(coordinator).post(
        f"/checkin/events/{event.id}/manual", data={"mobile": "13800009999", "reason": "忘带手机"}
    )
    assert response.status_code == 409
    assert 'data-code="volunteer_unknown"' in response.get_data(as_text=True)
    assert "No active volunteer account matches." in page_text(response)
    assert [(s.result, s.method, s.note) for s in scans()] == [("volunteer_unknown", "manual", "忘带手机")]


def test_a_rule_refusal_is_shown_beside_the_form(as_user, coordinator, volunteer, event, shift, scans, page_text):
    response = as_user(coordinator).post(
        f"/checkin/events/{event.id}/manual", data={"mobile": volunteer.mobile, "reason": "手机没电"}
    )
    assert response.status_code == 409
    assert "No shift at this event is assigned to this volunteer." in page_text(response)
    assert [s.result for s in scans()] == ["no_assignment"]
