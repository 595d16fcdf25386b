"""Schemathesis against the API's own /api/v1/openapi.json, in-process (WSGI): every operation, sent
generated valid and invalid input, answers no 500, only statuses it documents, JSON, and a body that
matches the documented schema with no undocumented field. A coordinator of 南城街道 calls with a bearer
token, so writes on the 南城 event get past the permission checks; each operation is its own test with a
fresh database, so no write leaks into another operation's test."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.schemas import SCHEMAS
from api.tokens import create_token
from api.validation import Validator
from app.permissions import Role
from app.timeutil import utcnow
from composition import create_app

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260501,
        # deterministic: the same inputs on every run, so a failure is reproducible and nothing flakes
        "generation": {"max-examples": 30, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
# The document the app serves at /api/v1/openapi.json (serving it needs no database).
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"}), config=CONFIG
)
STRICT = Validator(SCHEMAS, strict_output=True, convert=False)


def no_undocumented_field(ctx, response, case) -> None:
    """The body names no field the documented schema leaves out (response schemas are open in OpenAPI)."""
    answer = case.operation.definition.raw["responses"].get(str(response.status_code))
    if answer is None or not response.content:
        return  # an undocumented status or an empty body is the other checks' business
    if "$ref" in answer:
        answer = schema.raw_schema["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    _value, errors = STRICT.check(answer["content"]["application/json"]["schema"], json.loads(response.content))
    assert not errors, f"{case.operation.label} {response.status_code}: {errors}"


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    no_undocumented_field,
]


@pytest.fixture
def app_overrides(app_overrides):
    """Limits high enough that the generated requests reach the handlers instead of answering 429."""
    unlimited = "100000 per minute"
    return {
        **app_overrides,
        "API_WRITE_RATE_LIMIT": unlimited,
        "API_KIOSK_SCAN_RATE_LIMIT": unlimited,
        "API_SCAN_RATE_LIMIT_PER_USER": unlimited,
    }


@pytest.fixture
def coordinator_headers(db, make_user, orgs, staffed_event):
    """A bearer token of a real coordinator of 南城街道, beside the staffed 南城 event (its ids are the small ones
    the generated paths try first)."""
    user = make_user(name="契约协调", role=Role.COORDINATOR, role_org=orgs["nancheng"])
    _token, secret = create_token(user, "schemathesis", by=None, now=utcnow())
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
# one database per operation, shared by that operation's examples (as in test_api_fuzz.py)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_honours_its_document(case, app, coordinator_headers):
    response = case.call(app=app, headers=coordinator_headers)
    case.validate_response(response, checks=CHECKS, headers=coordinator_headers)
