"""The public certificate check is rate-limited per client address."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_overrides():
    return {"CERTIFICATE_VERIFY_LIMIT": "3 per minute"}


def test_public_check_is_rate_limited(client):
    codes = [client.get("/verify/2026-000001-ABCDEF").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.post("/verify", data={"serial": "x", "name": "y"}).status_code == 429
    assert client.get("/verify").status_code == 200  # the empty form is not counted
