"""API test fixtures: clients that authenticate by session or bearer token and check every answer
against the OpenAPI document (documented status, JSON body matching the documented schema, no
undocumented field), plus small factories for events, positions and shifts."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

import pytest

from api.openapi import build_document
from api.schemas import SCHEMAS
from api.validation import Validator
from app.permissions import Role
from app.timeutil import LOCAL_TZ, utcnow
from events.models import Event, EventKind, EventStatus, Position, Shift

PREFIX = "/api/v1"
RESPONSE_VALIDATOR = Validator(SCHEMAS, strict_output=True, convert=False)
_sequence = itertools.count(1)


class ApiClient:
    """A test client for /api/v1 that checks each response against the OpenAPI document."""

    def __init__(self, client, document: dict, *, token: str | None = None, csrf_token: str | None = None):
        self.client = client
        self.document = document
        self.token = token
        self.csrf_token = csrf_token

    def request(
        self,
        method: str,
        path: str,
        *,
        json=None,
        data=None,
        headers=None,
        query=None,
        content_type=None,
        expect: int | None = None,
    ):
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.csrf_token:
            headers.setdefault("X-CSRFToken", self.csrf_token)
        kwargs = {"headers": headers, "query_string": query}
        if json is not None:
            kwargs["json"] = json
        elif data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = content_type or "application/json"
        response = self.client.open(PREFIX + path, method=method, **kwargs)
        check_response(self.document, method, path, response)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.get_json())
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def find_operation(document: dict, method: str, path: str) -> dict | None:
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path.split("?")[0]) and method.lower() in item:
            return item[method.lower()]
    return None


def check_response(document: dict, method: str, path: str, response) -> None:
    """The answer is JSON, its status is documented for the operation, and its body matches the schema."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.is_json, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    operation = find_operation(document, method, path)
    if operation is None:  # undocumented method or path: routing answers
        assert response.status_code in (404, 405), response.status_code
        schema = {"$ref": "#/components/schemas/Error"}
    else:
        answer = operation["responses"].get(str(response.status_code))
        assert answer is not None, f"{method} {path}: {response.status_code} not documented ({body})"
        if "$ref" in answer:
            answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
        schema = answer["content"]["application/json"]["schema"]
    _value, errors = RESPONSE_VALIDATOR.check(schema, body)
    assert not errors, f"{method} {path} {response.status_code}: {errors}"
    if response.status_code >= 400:
        assert set(body["error"]) >= {"code", "message"}


@pytest.fixture
def document(app):
    with app.test_request_context("/api/v1/openapi.json"):
        return build_document()


@pytest.fixture
def anonymous(client, document):
    """An API client with no session and no token."""
    return ApiClient(client, document)


@pytest.fixture
def session_api(make_client, login, document):
    """session_api(user) -> ApiClient logged in through the login form (its own cookie jar)."""

    def make(user) -> ApiClient:
        return ApiClient(login(user, target=make_client()), document)

    return make


@pytest.fixture
def token_api(make_client, document, db):
    """token_api(user) -> ApiClient sending a fresh personal token as Authorization: Bearer."""
    from api.tokens import create_token

    def make(user) -> ApiClient:
        _token, secret = create_token(user, "tests", by=None, now=utcnow())
        db.session.commit()
        return ApiClient(make_client(), document, token=secret)

    return make


@pytest.fixture
def volunteer(make_user):
    return make_user(name="张志愿")


@pytest.fixture
def coordinator(make_user, orgs):
    """Coordinator of 南城街道 (and so of its teams)."""
    return make_user(name="黄协调", role=Role.COORDINATOR, role_org=orgs["nancheng"])


@pytest.fixture
def other_coordinator(make_user, orgs):
    """Coordinator of 东城街道: no say over 南城 events."""
    return make_user(
        name="李东城", organization=orgs["dongcheng_team"], role=Role.COORDINATOR, role_org=orgs["dongcheng"]
    )


@pytest.fixture
def local_time():
    """local_time(days=1, hour=9) -> aware UTC time of that Asia/Shanghai wall-clock hour, days from today."""

    def make(days: int = 1, hour: int = 9, minute: int = 0) -> datetime:
        day = utcnow().astimezone(LOCAL_TZ).date() + timedelta(days=days)
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ).astimezone(LOCAL_TZ)

    return make


@pytest.fixture
def make_event(db, orgs, local_time):
    """make_event(**fields) -> Event: a published community event of 南城街道 tomorrow 08:00-18:00, open for sign-up."""

    def make(**fields) -> Event:
        organization = fields.pop("organization", None) or orgs["nancheng"]
        starts_at = fields.pop("starts_at", None) or local_time(1, 8)
        now = utcnow()
        values = {
            "title": f"API活动{next(_sequence)}",
            "kind": EventKind.COMMUNITY.value,
            "organization_id": organization.id,
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(hours=10),
            "place": "南城街道鸿福路",
            "status": EventStatus.PUBLISHED.value,
            "signup_opens_at": now - timedelta(days=1),
            "signup_closes_at": starts_at,
            "published_at": now - timedelta(days=1),
        }
        values.update(fields)
        event = Event(**values)
        db.session.add(event)
        db.session.commit()
        return event

    return make


@pytest.fixture
def make_shift(db, make_event, local_time):
    """make_shift(event=None, position=None, capacity=10, starts_at=None, **fields) -> Shift (tomorrow 09:00-12:00)."""

    def make(
        event: Event | None = None,
        *,
        position: Position | None = None,
        capacity: int = 10,
        starts_at: datetime | None = None,
        min_age: int = 0,
        skills=(),
        **fields,
    ) -> Shift:
        if position is None:
            event = event or make_event()
            position = Position(event_id=event.id, name=f"引导{next(_sequence)}", min_age=min_age)
            position.required_skills = list(skills)
            db.session.add(position)
            db.session.flush()
        starts_at = starts_at or local_time(1, 9)
        shift = Shift(
            event_id=position.event_id,
            position_id=position.id,
            starts_at=starts_at,
            ends_at=fields.pop("ends_at", None) or starts_at + timedelta(hours=3),
            capacity=capacity,
            assigned_count=0,
            meeting_point="南城街道办事处门口",
            **fields,
        )
        db.session.add(shift)
        db.session.commit()
        return shift

    return make
