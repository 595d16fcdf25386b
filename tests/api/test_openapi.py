"""The OpenAPI document: valid OpenAPI 3, complete (every /api/v1 route), honest about errors."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from api.openapi import OPERATIONS


def test_document_validates_as_openapi_3(anonymous):
    document = anonymous.get("/openapi.json", expect=200).get_json()
    validate(document)  # raises on any violation of the OpenAPI 3.0 specification
    assert document["openapi"] == "3.0.3"
    assert document["servers"] == [{"url": "/api/v1"}]


def test_every_registered_api_route_is_documented(app, document):
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1") :])
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.add((method.lower(), path))
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert routed == documented
    assert len(documented) == len(OPERATIONS) >= 18


def test_required_endpoints_are_present(document):
    wanted = {
        ("get", "/events"),
        ("get", "/events/{event_id}"),
        ("get", "/events/{event_id}/shifts"),
        ("get", "/shifts/{shift_id}"),
        ("post", "/events"),
        ("patch", "/events/{event_id}"),
        ("post", "/events/{event_id}/publish"),
        ("post", "/events/{event_id}/cancel"),
        ("post", "/events/{event_id}/positions"),
        ("post", "/positions/{position_id}/shifts"),
        ("patch", "/shifts/{shift_id}"),
        ("post", "/shifts/{shift_id}/signup"),
        ("get", "/me/assignments"),
        ("post", "/assignments/{assignment_id}/cancel"),
        ("get", "/shifts/{shift_id}/assignments"),
        ("post", "/shifts/{shift_id}/assignments"),
        ("delete", "/assignments/{assignment_id}"),
    }
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert wanted <= documented


def test_operations_document_their_errors_parameters_and_bodies(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            public = operation.get("security") == []
            assert public or "401" in responses, (method, path)
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            assert names == re.findall(r"\{(\w+)\}", path), (method, path)
            if names:
                assert "404" in responses
            if method in ("post", "patch", "delete"):
                assert {"400", "429"} <= set(responses), (method, path)
            if "requestBody" in operation:
                assert {"415", "422"} <= set(responses), (method, path)
            errors = [code for code in responses if code.startswith(("4", "5"))]
            for code in errors:
                target = responses[code]["$ref"].rsplit("/", 1)[-1]
                schema = document["components"]["responses"][target]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}
            assert not any(code.startswith("5") for code in responses)
            assert operation["operationId"] and operation["summary"]


def test_request_schemas_are_closed_and_never_expose_server_fields(document):
    schemas = document["components"]["schemas"]
    for name in (
        "EventCreate",
        "EventUpdate",
        "PositionCreate",
        "PositionUpdate",
        "ShiftCreate",
        "ShiftUpdate",
        "SignupRequest",
        "AssignRequest",
        "MoveRequest",
        "UnassignRequest",
        "CancelRequest",
    ):
        schema = schemas[name]
        assert schema["additionalProperties"] is False, name
        assert not {"id", "status", "assigned_count", "created_by_id", "created_at", "published_at"} & set(
            schema["properties"]
        ), name


def test_security_schemes_describe_bearer_and_session(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert document["paths"]["/openapi.json"]["get"]["security"] == []
