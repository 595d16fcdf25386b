"""Arbitrary JSON bodies on the API's write endpoints never cause a 500: the validation helpers refuse
them with a 4xx JSON error (or the write succeeds), whoever sends them."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.tokens import create_token
from app.permissions import Role
from app.timeutil import utcnow

# the fixtures only give the app, the database and a token: the examples share them on purpose
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "title",
    "kind",
    "organization_id",
    "starts_at",
    "ends_at",
    "capacity",
    "name",
    "min_age",
    "skill_ids",
    "reason",
    "user_id",
    "to_shift_id",
    "override_rules",
    "join_waitlist",
    "status",
    "assigned_count",
    "event_id",
    "device_id",
    "scans",
    "token",
    "latitude",
    "longitude",
    "description",
]
bodies = json_values | st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
ENDPOINTS = [
    ("POST", "/api/v1/events"),
    ("PATCH", "/api/v1/events/{event}"),
    ("POST", "/api/v1/events/{event}/positions"),
    ("POST", "/api/v1/positions/{position}/shifts"),
    ("PATCH", "/api/v1/shifts/{shift}"),
    ("POST", "/api/v1/shifts/{shift}/assignments"),
    ("POST", "/api/v1/assignments/{assignment}/move"),
    ("DELETE", "/api/v1/assignments/{assignment}"),
    ("POST", "/api/v1/scans"),
    ("POST", "/api/v1/kiosk-scans"),
]


@pytest.fixture
def coordinator_token(db, make_user, orgs):
    user = make_user(name="模糊协调", role=Role.COORDINATOR, role_org=orgs["nancheng"])
    _token, secret = create_token(user, "fuzz", by=None, now=utcnow())
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@FAST
@pytest.mark.parametrize("method,template", ENDPOINTS)
@given(body=bodies)
def test_arbitrary_json_never_causes_a_500(app, client, staffed_event, coordinator_token, method, template, body):
    url = template.format(**{key: staffed_event[key].id for key in ("event", "position", "shift", "assignment")})
    response = client.open(
        url, method=method, headers=coordinator_token, data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.is_json


@FAST
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_malformed_bodies_are_refused_as_json(app, client, staffed_event, coordinator_token, raw):
    response = client.post(
        f"/api/v1/positions/{staffed_event['position'].id}/shifts",
        headers=coordinator_token,
        data=raw,
        content_type="application/json",
    )
    assert 400 <= response.status_code < 500 and response.is_json
