"""Operations of the API and the OpenAPI 3 document built from them.

Every endpoint is declared with `@operation(...)`: the same declaration registers the
Flask route, validates its query and body, applies the write rate limit, and
describes it in /api/v1/openapi.json. Nothing can be routed without being documented.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import current_app

from api import auth
from api.blueprint import bp
from api.schemas import ID, REFUSAL_CODES, SCHEMAS, ref
from api.validation import Validator, read_json_body, read_query
from app.extensions import limiter

VERSION = "1.0.0"
VALIDATOR = Validator(SCHEMAS)

ERROR_DESCRIPTIONS = {
    400: "Malformed JSON, a missing CSRF token (session callers), or input a service refused "
    "(code names the rule, field the input).",
    401: "No valid session or API token.",
    403: "The permission module refused (e.g. not a coordinator of this organization).",
    404: "No such object, or one the caller may not see.",
    409: "The request conflicts with the current state (a refused sign-up answers with the rule code).",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "The body or query breaks the schema (details.fields maps each field to its problem).",
    429: "Too many write requests; wait and retry.",
}


@dataclass
class Operation:
    """One documented endpoint."""

    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    status: int
    response: str
    query: list[dict] = field(default_factory=list)
    body: str | None = None
    body_required: bool = True
    errors: tuple[int, ...] = ()
    public: bool = False

    @property
    def path(self) -> str:
        return re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", self.rule)

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"<(?:[^:>]+:)?(\w+)>", self.rule)

    @property
    def writes(self) -> bool:
        return self.method in auth.UNSAFE_METHODS

    def error_statuses(self) -> list[int]:
        statuses = set(self.errors)
        if not self.public:
            statuses.add(401)
        if self.path_parameters:
            statuses.add(404)
        if self.query:
            statuses.add(422)
        if self.body:
            statuses.update({400, 413, 415, 422})
        if self.writes:
            statuses.update({400, 429})
        return sorted(statuses)


OPERATIONS: list[Operation] = []

_View = TypeVar("_View", bound=Callable[..., Any])


def operation(
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    tag: str,
    response: str,
    status: int = 200,
    query: Sequence[dict] = (),
    body: str | None = None,
    body_required: bool = True,
    errors: tuple[int, ...] = (),
    public: bool = False,
    description: str = "",
    rate_limits: tuple | None = None,
) -> Callable[[_View], _View]:
    """Route, validate, rate-limit and document one endpoint.

    `rate_limits`: limiter decorators applied instead of the shared write limit (e.g. the badge scanner's).
    """

    def decorator(view: _View) -> _View:
        op = Operation(
            rule,
            method,
            view.__name__,
            summary,
            description or (view.__doc__ or "").strip(),
            tag,
            status,
            response,
            list(query),
            body,
            body_required,
            tuple(errors),
            public,
        )

        @wraps(view)
        def handle(**kwargs: Any) -> tuple[Any, ...]:
            if op.query:
                kwargs["query"] = read_query(VALIDATOR, op.query)
            if op.body:
                kwargs["body"] = read_json_body(VALIDATOR, ref(op.body), required=op.body_required)
            result = view(**kwargs)
            return result if isinstance(result, tuple) else (result, op.status)

        view_func: Callable[..., Any] = handle
        for limit in rate_limits or ():
            view_func = limit(view_func)
        if op.writes and rate_limits is None:
            view_func = limiter.shared_limit(auth.write_rate_limit, scope="api-write", key_func=auth.rate_limit_key)(
                view_func
            )
        bp.add_url_rule(rule, endpoint=op.endpoint, view_func=view_func, methods=[method])
        if public:
            auth.PUBLIC_ENDPOINTS.add(f"{bp.name}.{op.endpoint}")
        OPERATIONS.append(op)
        return view

    return decorator


def _operation_object(op: Operation) -> dict:
    parameters = [{"name": name, "in": "path", "required": True, "schema": ID} for name in op.path_parameters]
    parameters += op.query
    responses = {
        str(op.status): {"description": "Success.", "content": {"application/json": {"schema": ref(op.response)}}}
    }
    for status in op.error_statuses():
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    document: dict[str, Any] = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": responses,
    }
    if op.description:
        document["description"] = op.description
    if parameters:
        document["parameters"] = parameters
    if op.body:
        document["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": ref(op.body)}},
        }
    if op.public:
        document["security"] = []
    return document


def build_document() -> dict:
    """The OpenAPI 3.0 document of every registered operation."""
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation_object(op)
    used = sorted({status for op in OPERATIONS for status in op.error_statuses()})
    cookie = current_app.config.get("SESSION_COOKIE_NAME", "session")
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Dongguan Youth Volunteer Service API",
            "version": VERSION,
            "description": (
                "Events, positions, shifts and assignments. Volunteers read and sign up; coordinators write "
                "within their organization's subtree. Authenticate with a personal API token "
                "(`Authorization: Bearer <token>`, created with `flask api create-token`) or the web session "
                "cookie; session callers send the page's CSRF token in `X-CSRFToken` on POST, PATCH and DELETE. "
                "Times are ISO 8601 with a UTC offset. Every error is JSON "
                '`{"error": {"code", "message", "field"?, "details"?}}`. A refused sign-up or '
                "assignment answers 409 with the rule as its code, one of: " + ", ".join(REFUSAL_CODES) + "."
            ),
        },
        "servers": [{"url": bp.url_prefix}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "tags": [{"name": name} for name in dict.fromkeys(op.tag for op in OPERATIONS)],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": {
                f"E{status}": {
                    "description": ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": ref("Error")}},
                }
                for status in used
            },
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (flask api create-token).",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": cookie,
                    "description": "The web session; writes also need the X-CSRFToken header.",
                },
            },
        },
    }
