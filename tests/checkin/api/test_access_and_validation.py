"""Whole-request problems of the scan endpoints answer documented 4xx JSON errors and apply nothing."""

from __future__ import annotations

import json

import pytest

from api.scan_schemas import MAX_SCANNED_TEXT


def error(response) -> dict:
    return response.get_json()["error"]


def one_scan(badge_token: str = "B.1.2.AAAAAAAAAAAAAAAAAAAAAA", **fields) -> dict:
    return {"client_scan_id": "c1", "badge_token": badge_token, **fields}


# -- authentication and permission --------------------------------------------------------------


def test_anonymous_callers_get_401(anonymous, scan_body, event, scan_log):
    for path, body in (("/scans", scan_body(one_scan())), ("/kiosk-scans", {"token": "K.1..2.x"})):
        response = anonymous.post(path, json=body, expect=401)
        assert error(response)["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (
        anonymous.post(
            "/scans", json=scan_body(one_scan()), headers={"Authorization": "Bearer nope"}, expect=401
        ).get_json()["error"]["code"]
        == "invalid_token"
    )
    assert scan_log() == []


@pytest.mark.parametrize("who", ["volunteer", "outsider"])
def test_volunteers_and_other_organizations_coordinators_get_403(
    request, token_api, who, scan_body, badge, volunteer, assignment, scan_log, attendances
):
    caller = request.getfixturevalue(who)
    response = token_api(caller).post("/scans", json=scan_body(one_scan(badge(volunteer))), expect=403)
    assert error(response)["code"] == "not_coordinator"
    assert scan_log() == [] and attendances(volunteer) == []


def test_a_coordinator_above_the_organizer_may_scan(
    token_api, make_user, orgs, scan_body, badge, volunteer, assignment
):
    from app.permissions import Role

    city = make_user(name="市级协调", organization=orgs["city"], role=Role.COORDINATOR, role_org=orgs["city"])
    [result] = (
        token_api(city).post("/scans", json=scan_body(one_scan(badge(volunteer))), expect=200).get_json()["results"]
    )
    assert result["action"] == "check_in"


def test_an_unknown_event_answers_404(scanner, scan_body):
    for event_id in (987654, 2**31 - 1):
        response = scanner.post("/scans", json=scan_body(one_scan(), event_id=event_id), expect=404)
        assert error(response)["code"] == "not_found"


def test_a_draft_of_another_organization_is_not_found(token_api, outsider, make_event, scan_body):
    draft = make_event(status="draft", published_at=None)
    response = token_api(outsider).post("/scans", json=scan_body(one_scan(), event_id=draft.id), expect=404)
    assert error(response)["code"] == "not_found"


def test_a_draft_of_ones_own_is_refused_per_scan(scanner, make_event, scan_body, badge, volunteer):
    draft = make_event(status="draft", published_at=None)
    [result] = scanner.post(
        "/scans", json=scan_body(one_scan(badge(volunteer)), event_id=draft.id), expect=200
    ).get_json()["results"]
    assert (result["ok"], result["code"]) == (False, "not_allowed")


# -- malformed and invalid bodies ----------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{", b'{"event_id": 1,}', b"\xff\xfe", b"[" * 50_000])
def test_malformed_json_answers_400(scanner, raw):
    assert error(scanner.post("/scans", data=raw, expect=400))["code"] == "malformed_json"
    assert error(scanner.post("/kiosk-scans", data=raw, expect=400))["code"] == "malformed_json"


def test_a_body_that_is_not_json_answers_415(scanner):
    response = scanner.post("/scans", data=b"event_id=1", content_type="application/x-www-form-urlencoded", expect=415)
    assert error(response)["code"] == "unsupported_media_type"


def test_a_missing_body_answers_422(scanner):
    assert error(scanner.post("/scans", expect=422))["code"] == "body_required"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"event_id": "1"}, "event_id"),
        ({"event_id": True}, "event_id"),
        ({"event_id": 0}, "event_id"),
        ({"event_id": 2**40}, "event_id"),
        ({"device_id": ""}, "device_id"),
        ({"device_id": "gate 1"}, "device_id"),
        ({"device_id": "x" * 65}, "device_id"),
        ({"device_id": 7}, "device_id"),
        ({"scans": {}}, "scans"),
        ({"scans": []}, "scans"),
        ({"scans": [7]}, "scans[0]"),
        ({"extra": 1}, "extra"),
        ({"scans": [one_scan(client_scan_id="")]}, "scans[0].client_scan_id"),
        ({"scans": [one_scan(client_scan_id="a/b")]}, "scans[0].client_scan_id"),
        ({"scans": [one_scan(client_scan_id="abc\n")]}, "scans[0].client_scan_id"),
        ({"scans": [one_scan(badge_token=12)]}, "scans[0].badge_token"),
        ({"scans": [one_scan(badge_token="")]}, "scans[0].badge_token"),
        ({"scans": [one_scan(badge_token="B.\x00")]}, "scans[0].badge_token"),
        ({"scans": [one_scan(badge_token="x" * (MAX_SCANNED_TEXT + 1))]}, "scans[0].badge_token"),
        ({"scans": [one_scan(offline="yes")]}, "scans[0].offline"),
        ({"scans": [one_scan(offline=True)]}, "scans[0].scanned_at"),
        ({"scans": [one_scan(offline=True, scanned_at="2026-05-01T09:00:00")]}, "scans[0].scanned_at"),
        ({"scans": [one_scan(latitude="23.0", longitude=113.7)]}, "scans[0].latitude"),
        ({"scans": [one_scan(latitude=91, longitude=113.7)]}, "scans[0].latitude"),
        ({"scans": [one_scan(latitude=23.0)]}, "scans[0].longitude"),
        ({"scans": [one_scan(longitude=113.7, latitude=None)]}, "scans[0].latitude"),
        ({"scans": [one_scan(status="ok")]}, "scans[0].status"),
    ],
)
def test_schema_violations_answer_422_naming_the_field(scanner, scan_body, change, field, scan_log):
    body = {**scan_body(one_scan()), **change}
    response = scanner.post("/scans", data=json.dumps(body).encode(), expect=422)
    problem = error(response)
    assert problem["code"] == "validation_failed" and problem["field"] == field, problem
    assert field in problem["details"]["fields"]
    assert scan_log() == []


def test_one_bad_scan_rejects_the_whole_request_before_anything_is_applied(
    scanner, scan_body, badge, volunteer, assignment, scan_log, attendances
):
    body = scan_body(one_scan(badge(volunteer)), {"client_scan_id": "c2", "badge_token": "x", "latitude": 23.0})
    assert error(scanner.post("/scans", json=body, expect=422))["field"] == "scans[1].longitude"
    assert scan_log() == [] and attendances(volunteer) == []


def test_too_many_scans_answer_422(scanner, scan_body, scan_log):
    body = scan_body(*[one_scan(client_scan_id=f"c{i}") for i in range(501)])
    problem = error(scanner.post("/scans", json=body, expect=422))
    assert problem["field"] == "scans" and "500" in problem["message"]
    assert scan_log() == []


def test_five_hundred_scans_are_answered_one_by_one(scanner, scan_body, scan_log):
    body = scan_body(*[one_scan(client_scan_id=f"c{i}") for i in range(500)])
    answered = scanner.post("/scans", json=body, expect=200).get_json()["results"]
    assert len(answered) == 500 and {r["code"] for r in answered} == {"token_forged"}
    assert len(scan_log(device_id="gate-1")) == 500


def test_a_body_over_the_limit_answers_413(app, scanner, scan_body, scan_log):
    app.config["API_SCANS_MAX_BODY_BYTES"] = 4096
    body = scan_body(*[one_scan(client_scan_id=f"c{i}", badge_token="B." + "x" * 100) for i in range(40)])
    assert error(scanner.post("/scans", json=body, expect=413))["code"] == "request_entity_too_large"
    assert (
        error(scanner.post("/kiosk-scans", json={"token": "K" * 5000}, expect=413))["code"]
        == "request_entity_too_large"
    )
    assert scan_log() == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "token"),
        ({"token": 5}, "token"),
        ({"token": "K", "latitude": 23.0}, "longitude"),
        ({"token": "K", "longitude": 113.0}, "latitude"),
        ({"token": "K", "accuracy_m": -1}, "accuracy_m"),
        ({"token": "K", "latitude": 23.0, "longitude": 181}, "longitude"),
        ({"token": "K", "event_id": 1}, "event_id"),
    ],
)
def test_kiosk_schema_violations_answer_422(session_api, volunteer, body, field, scan_log):
    problem = error(session_api(volunteer).post("/kiosk-scans", json=body, expect=422))
    assert problem["code"] == "validation_failed" and problem["field"] == field
    assert scan_log() == []
