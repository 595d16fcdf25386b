"""Fixtures for the check-in API (POST /api/v1/scans, /api/v1/kiosk-scans).

The event, shift, assignment, token makers and row readers are in tests/checkin/conftest.py. Here: the API
clients of tests/api/helpers.py (every answer is checked against the OpenAPI document), the coordinator's
scanner app and the body of a POST /scans.
"""

from __future__ import annotations

import pytest

from tests.api import helpers as api_helpers

document = api_helpers.document
anonymous = api_helpers.anonymous
session_api = api_helpers.session_api
token_api = api_helpers.token_api


@pytest.fixture
def scanner(token_api, coordinator):
    """The coordinator's scanner app, calling with a personal API token."""
    return token_api(coordinator)


@pytest.fixture
def scan_body(event):
    """scan_body(*scans, device_id="gate-1", event_id=event.id) -> a POST /scans body."""

    def make(*scans: dict, device_id: str = "gate-1", event_id: int | None = None) -> dict:
        return {"event_id": event_id or event.id, "device_id": device_id, "scans": list(scans)}

    return make
