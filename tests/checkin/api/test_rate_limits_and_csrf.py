"""Rate limits of the scan endpoints (per user, and per address for scanners) and CSRF for session callers."""

from __future__ import annotations

import pytest

from app.permissions import Role


@pytest.fixture
def app_overrides():
    return {
        "API_SCAN_RATE_LIMIT_PER_USER": "3 per minute",
        "API_SCAN_RATE_LIMIT_PER_ADDRESS": "4 per minute",
        "API_KIOSK_SCAN_RATE_LIMIT": "2 per minute",
        "API_WRITE_RATE_LIMIT": "1 per minute",
    }


@pytest.fixture
def colleague(make_user, orgs):
    return make_user(name="第二协调", organization=orgs["nancheng"], role=Role.COORDINATOR, role_org=orgs["nancheng"])


def scan(api, scan_body, n: int, **kw):
    return api.post("/scans", json=scan_body({"client_scan_id": f"c{n}", "badge_token": "B.1.2.x"}), **kw)


def test_scanner_limit_per_user(token_api, coordinator, scan_body, event):
    scanner = token_api(coordinator)
    for n in range(3):  # more than the shared write limit (1 per minute): scans have their own
        scan(scanner, scan_body, n, expect=200)
    throttled = scan(scanner, scan_body, 3, expect=429)
    assert throttled.get_json()["error"]["code"] == "too_many_requests"
    assert "Retry-After" in throttled.headers


def test_scanner_limit_per_address(token_api, coordinator, colleague, scan_body, event):
    first, second = token_api(coordinator), token_api(colleague)
    for n in range(2):
        scan(first, scan_body, n, expect=200)
        scan(second, scan_body, 10 + n, expect=200)
    # neither user has reached 3, but the address has sent 4
    assert scan(second, scan_body, 12, expect=429).get_json()["error"]["code"] == "too_many_requests"


def test_kiosk_limit_per_user(session_api, volunteer, make_user):
    phone = session_api(volunteer)
    for _ in range(2):
        phone.post("/kiosk-scans", json={"token": "K.1..1.x"}, expect=200)
    assert (
        phone.post("/kiosk-scans", json={"token": "K.1..1.x"}, expect=429).get_json()["error"]["code"]
        == "too_many_requests"
    )
    session_api(make_user(name="另一位")).post("/kiosk-scans", json={"token": "K.1..1.x"}, expect=200)


def test_session_callers_need_the_csrf_token(app, session_api, volunteer, scan_body, coordinator, scan_log):
    phone, scanner = session_api(volunteer), session_api(coordinator)
    app.config["WTF_CSRF_ENABLED"] = True
    refused = phone.post("/kiosk-scans", json={"token": "K.1..1.x"}, expect=400)
    assert refused.get_json()["error"]["code"] == "csrf_failed"
    assert (
        scanner.post("/scans", json=scan_body({"client_scan_id": "c", "badge_token": "x"}), expect=400).get_json()[
            "error"
        ]["code"]
        == "csrf_failed"
    )
    assert scan_log() == []
