"""Bad input answers a documented 4xx JSON error with a code and a message, never a 500."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from api.validation import parse_date_time
from events.models import Event


@pytest.fixture
def app_overrides():
    # this module sends many writes on purpose; the limit itself is tested in test_write.py
    return {"API_WRITE_RATE_LIMIT": "100000 per minute"}


@pytest.fixture
def api(token_api, coordinator):
    return token_api(coordinator)


def _error(response) -> dict:
    return response.get_json()["error"]


@pytest.mark.parametrize("raw", [b"{", b"[1,", b"{'a': 1}", b"\xff\xfe\x00", b"[" * 100_000, b'{"a": 1} x'])
def test_malformed_json_answers_400(api, raw):
    error = _error(api.post("/events", data=raw, expect=400))
    assert error["code"] == "malformed_json" and error["message"]


def test_a_body_that_is_not_json_answers_415(api):
    response = api.post("/events", data=b"title=x", content_type="application/x-www-form-urlencoded", expect=415)
    assert _error(response)["code"] == "unsupported_media_type"


def test_a_missing_required_body_answers_422(api, make_shift):
    shift = make_shift()
    make_assignment = api.post(f"/shifts/{shift.id}/assignments", expect=422)
    assert _error(make_assignment)["code"] == "body_required"


@pytest.mark.parametrize(
    "body, field",
    [
        ([], "body"),
        ("x", "body"),
        (None, "body"),
        (1, "body"),
        ({"title": 5}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"title": None}, "title"),
        ({"kind": "party"}, "kind"),
        ({"organization_id": "1"}, "organization_id"),
        ({"organization_id": True}, "organization_id"),
        ({"organization_id": 2**63}, "organization_id"),
        ({"organization_id": 1.5}, "organization_id"),
        ({"starts_at": "2026-05-01T09:00:00"}, "starts_at"),
        ({"starts_at": "2026-02-30T09:00:00+08:00"}, "starts_at"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": 1767225600}, "starts_at"),
        ({"starts_at": "1900-01-01T08:00:00+08:00"}, "starts_at"),
        ({"ends_at": "9999-12-31T23:59:59-12:00"}, "ends_at"),
        ({"latitude": 91}, "latitude"),
        ({"latitude": "23.0"}, "latitude"),
        ({"checkin_radius_m": 0}, "checkin_radius_m"),
        ({"allow_walk_ins": "yes"}, "allow_walk_ins"),
        ({"allow_walk_ins": 1}, "allow_walk_ins"),
        ({"place": "a\x00b"}, "place"),
        ({"place": "\ud800"}, "place"),
        ({"cancel_cutoff_hours": -1}, "cancel_cutoff_hours"),
        ({"nonsense": 1}, "nonsense"),
    ],
)
def test_schema_violations_answer_422_naming_the_field(api, event_body_for, body, field, db):
    payload = body if not isinstance(body, dict) else {**event_body_for(), **body}
    if isinstance(body, dict) and None in body.values() and field in body:
        payload[field] = None
    response = api.post("/events", data=json.dumps(payload).encode(), expect=422)
    error = _error(response)
    assert error["code"] == "validation_failed" and error["field"].split("[")[0] == field
    assert field in error["details"]["fields"] or field == "body"
    assert db.session.scalar(select(func.count(Event.id))) == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-05-01T09:00:00+08:00", "2026-05-01T01:00:00+00:00"),
        ("2026-05-01t01:00:00z", "2026-05-01T01:00:00+00:00"),
        ("2026-05-01 01:00:00.123456789Z", "2026-05-01T01:00:00.123456+00:00"),
        ("2026-06-30T23:59:60Z", "2026-07-01T00:00:00+00:00"),
        ("2026-05-01T09:00:00", None),
        ("2026-05-01", None),
        ("2026-05-01T09:00:00+24:00", None),
        ("2026-05-01T24:00:00Z", None),
        ("0001-01-01T00:00:00+14:00", None),
        ("２０２６-05-01T09:00:00Z", None),
    ],
)
def test_date_time_parsing(text, expected):
    parsed = parse_date_time(text)
    assert (parsed.isoformat() if parsed else None) == expected


def test_non_finite_numbers_are_refused(api, event_body_for):
    for literal in (b"NaN", b"Infinity", b"1e999"):
        raw = json.dumps(event_body_for(latitude=0.0)).encode().replace(b'"latitude": 0.0', b'"latitude": ' + literal)
        assert _error(api.post("/events", data=raw, expect=422))["field"] == "latitude"


def test_every_problem_is_listed(api):
    error = _error(api.post("/events", json={"title": 1, "kind": "x"}, expect=422))
    assert {"title", "kind", "organization_id", "starts_at", "ends_at"} <= set(error["details"]["fields"])


@pytest.mark.parametrize(
    "path",
    [
        "/events/999999",
        "/events/0",
        "/events/2147483648",
        "/events/99999999999999999999",
        "/events/-1",
        "/events/abc",
        "/shifts/999999",
        "/positions/999999",
        "/assignments/999999",
        "/events/999999/shifts",
        "/nowhere",
    ],
)
def test_unknown_ids_answer_404_json(api, path):
    assert _error(api.get(path, expect=404))["code"] == "not_found"


def test_unknown_ids_in_writes_answer_404(api):
    api.post("/shifts/999999/signup", json={}, expect=404)
    api.patch("/events/999999", json={"title": "x"}, expect=404)
    api.delete("/assignments/2147483647", json={"reason": "x"}, expect=404)


def test_unknown_organization_in_a_body_or_query_answers_404(api, event_body_for):
    error = _error(api.post("/events", json=event_body_for(organization_id=999_999), expect=404))
    assert (error["code"], error["field"]) == ("unknown_organization", "organization_id")
    api.get("/events", query={"organization_id": 999_999}, expect=404)


@pytest.mark.parametrize(
    "query",
    [
        {"per_page": "101"},
        {"per_page": "0"},
        {"page": "0"},
        {"page": "x"},
        {"kind": "party"},
        {"from": "2026-05-01"},
        {"to": "\x00"},
        {"organization_id": "99999999999999"},
        {"status": "deleted"},
        {"page": "1.5"},
        {"to": ""},
        {"kind": ""},
    ],
)
def test_bad_query_parameters_answer_422(api, query):
    assert _error(api.get("/events", query=query, expect=422))["code"] == "validation_failed"


def test_wrong_method_answers_405_json(api):
    response = api.request("PUT", "/events", json={})
    assert response.status_code == 405 and _error(response)["code"] == "method_not_allowed"


# -- a sweep over every documented operation --------------------------------------------------

BAD_VALUES = [
    None,
    True,
    -1,
    2**31,
    1.5,
    "x" * 20_000,
    "a\x00",
    "\ud800",
    {},
    ["x"],
    "2026-05-01T09:00:00",
    "0001-01-01T00:00:00+14:00",
]
BAD_QUERY = ["abc", "-1", "99999999999999", "2026-13-01T00:00:00Z", "\x00", "1e5"]
BAD_BODIES = [b"", b"{", b"null", b"[]", b'"x"', b"1", b'{"unknown": 1}']


@pytest.fixture
def objects(make_shift, token_api, volunteer):
    shift = make_shift()
    placed = token_api(volunteer).post(f"/shifts/{shift.id}/signup", json={}, expect=201).get_json()
    return {
        "event_id": shift.event_id,
        "position_id": shift.position_id,
        "shift_id": shift.id,
        "assignment_id": placed["id"],
    }


def test_no_input_to_any_operation_causes_a_server_error(api, document, objects):
    """Each documented operation, fed wrong bodies, wrong field values and wrong query values, answers a
    documented 4xx (the ApiClient checks status, JSON shape and schema of every answer)."""
    schemas = document["components"]["schemas"]
    sent = 0
    for template, item in document["paths"].items():
        path = template.format(**objects)
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    for value in BAD_QUERY:
                        api.request(method.upper(), path, query={parameter["name"]: value})
                        sent += 1
            if "requestBody" not in operation:
                continue
            schema = schemas[
                operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            ]
            for raw in BAD_BODIES:
                api.request(method.upper(), path, data=raw)
                sent += 1
            for name in schema["properties"]:
                for value in BAD_VALUES:
                    api.request(method.upper(), path, data=json.dumps({name: value}).encode())
                    sent += 1
    assert sent > 500


@pytest.fixture
def event_body_for(orgs, local_time):
    def make(**fields) -> dict:
        body = {
            "title": "东莞漫博会志愿服务",
            "kind": "expo",
            "organization_id": orgs["nancheng"].id,
            "starts_at": local_time(3, 8).isoformat(),
            "ends_at": local_time(3, 18).isoformat(),
        }
        body.update(fields)
        return body

    return make
