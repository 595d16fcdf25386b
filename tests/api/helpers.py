"""The API tests' client and fixtures, shared with tests/checkin/api: an ApiClient for /api/v1 that checks every
answer against the OpenAPI document (documented status, JSON body matching the documented schema, no
undocumented field), and the fixtures `document`, `anonymous`, `session_api` and `token_api` (a conftest.py
hands them out by assigning them to names of its own)."""

from __future__ import annotations

import re

import pytest

from api.openapi import build_document
from api.schemas import SCHEMAS
from api.validation import Validator
from app.timeutil import utcnow

PREFIX = "/api/v1"
RESPONSE_VALIDATOR = Validator(SCHEMAS, strict_output=True, convert=False)


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
            headers.setdefault("Accept-Language", "en")  # a token's call has no session: its language is asked
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
