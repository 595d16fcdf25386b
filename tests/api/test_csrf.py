"""CSRF: session callers send the page's token in X-CSRFToken on writes; bearer callers need none."""

from __future__ import annotations

import re

import pytest

from tests.api.helpers import ApiClient
from tests.support import PASSWORD


@pytest.fixture
def app_overrides():
    return {"WTF_CSRF_ENABLED": True}


def _login_with_csrf(client, user) -> str:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post("/login", data={"mobile": user.mobile, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return token


def test_session_write_without_csrf_token_is_refused(make_client, document, volunteer, make_shift):
    shift = make_shift()
    client = make_client()
    _login_with_csrf(client, volunteer)
    api = ApiClient(client, document)
    response = api.post(f"/shifts/{shift.id}/signup", json={}, expect=400)
    assert response.get_json()["error"]["code"] == "csrf_failed"
    api.post(f"/shifts/{shift.id}/signup", json={}, headers={"X-CSRFToken": "forged"}, expect=400)
    api.get("/events", expect=200)  # reads need no token


def test_session_write_with_csrf_header_passes(make_client, document, volunteer, make_shift):
    shift = make_shift()
    client = make_client()
    token = _login_with_csrf(client, volunteer)
    ApiClient(client, document, csrf_token=token).post(f"/shifts/{shift.id}/signup", json={}, expect=201)


def test_bearer_write_needs_no_csrf_token(token_api, volunteer, make_shift):
    shift = make_shift()
    token_api(volunteer).post(f"/shifts/{shift.id}/signup", json={}, expect=201)
