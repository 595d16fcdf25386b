"""Who is calling: a personal bearer token or the logged-in session (with its CSRF token for writes).

Bearer requests never need a CSRF token: a browser cannot be made to send an
Authorization header to this site from another one. Session requests that change
something must carry the page's CSRF token in the X-CSRFToken header. Anything
else gets 401 JSON, never a redirect to the login page.
"""

from __future__ import annotations

from typing import TypeVar

from flask import Response, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from api import tokens
from api.schemas import MAX_ID
from app.errors import NotFound, PermissionDenied
from app.extensions import client_address, csrf, db
from app.timeutil import utcnow

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: endpoints anyone may call (the OpenAPI document)
PUBLIC_ENDPOINTS: set[str] = set()

_T = TypeVar("_T")


def unauthorized(code: str, message: str) -> Response:
    response = jsonify(error={"code": code, "message": message})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def authenticate() -> Response | None:
    """Before every API request: resolve the caller, or answer 401."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _sep, secret = header.strip().partition(" ")
        token = tokens.find_active_token(secret.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return unauthorized("invalid_token", _("The API token is not valid or has been revoked."))
        # Flask-Login reads the request's user from here; the session is not touched.
        g._login_user = token.user
        g.api_token_id = token.id
        if tokens.touch_token(token, now=utcnow()):
            db.session.commit()
        return None
    if not current_user.is_authenticated:
        return unauthorized("unauthenticated", _("Log in or send an API token (Authorization: Bearer ...)."))
    if request.method in UNSAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # a CSRFError answers 400 {"error": {"code": "csrf_failed"}}
    return None


def rate_limit_key() -> str:
    """Write limits count per user, so one busy integration does not throttle a whole site."""
    if current_user.is_authenticated:
        return f"api-user:{current_user.id}"
    return client_address()


def write_rate_limit() -> str:
    return current_app.config.get("API_WRITE_RATE_LIMIT", "300 per minute")


def load(model: type[_T], object_id: int, message: str) -> _T:
    """The row with this id, or 404 (ids beyond a 32-bit key never exist)."""
    item = db.session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if item is None:
        raise NotFound(message)
    return item


def referenced(model: type[_T], object_id: int, message: str, *, field: str, code: str) -> _T:
    """An object a request body or query names by id, or 404 naming the field."""
    item = db.session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if item is None:
        raise NotFound(message, field=field, code=code)
    return item


def require(allowed: bool, message: str, code: str = "forbidden") -> None:
    """403 unless the permission module said yes."""
    if not allowed:
        raise PermissionDenied(message, code=code)
