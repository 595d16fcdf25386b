"""Cross-cutting web concerns: security headers, error pages, template helpers, transactions."""

from __future__ import annotations

import logging
from typing import TypeGuard
from urllib.parse import urlsplit

from flask import Flask, flash, g, jsonify, make_response, redirect, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from app.errors import DomainError
from app.extensions import db, login_manager
from app.security import mask_id_number
from app.timeutil import to_local
from app.web.bodies import DrainUnreadBody
from app.web.inputs import request_has_nul

log = logging.getLogger(__name__)

#: PostgreSQL's numeric_value_out_of_range and datetime_field_overflow
OUT_OF_RANGE_SQLSTATES = ("22003", "22008")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: on every response whose view did not set them (Strict-Transport-Security and Cache-Control: see register_web)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()"),
)


def wants_json() -> bool:
    """API paths, and callers that ask for JSON, get JSON errors."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def is_safe_redirect(target: str | None) -> TypeGuard[str]:
    """Only relative paths on this site are followed after login."""
    if not target:
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False  # browsers read "/\evil.example" as "//evil.example"
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")


ERROR_TITLES = {
    400: _l("The request could not be understood"),
    403: _l("You do not have permission to do that"),
    404: _l("The page was not found"),
    405: _l("That action is not allowed here"),
    413: _l("The upload is too large"),
    429: _l("Too many attempts; please wait and try again."),
    500: _l("Something went wrong on our side"),
    503: _l("The service is temporarily unavailable"),
}


def register_web(app: Flask) -> None:
    """Install headers, error handlers, filters and the per-request transaction rule."""
    # A body the app answers unread (a 413 over MAX_CONTENT_LENGTH) is drained, or the client gets a reset, not the page.
    app.wsgi_app = DrainUnreadBody(app.wsgi_app, app.config)  # type: ignore[method-assign]  # Flask's documented way to wrap its WSGI app

    @app.after_request
    def security_headers(response):
        # Each header unless the view set it: one pass over the response's headers, not one per header.
        headers = response.headers
        present = {name.lower() for name, _value in headers.to_wsgi_list()}
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        if app.config.get("SESSION_COOKIE_SECURE") and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static" and "cache-control" not in present:
            headers.add("Cache-Control", "no-store")
        return response

    @app.teardown_request
    def rollback_uncommitted(exc):
        # One commit per request, in the view; anything left uncommitted is discarded.
        if exc is not None:
            db.session.rollback()

    def error_response(status: int, message: str, code: str):
        if wants_json():
            return jsonify(error={"code": code, "message": message}), status
        title = str(ERROR_TITLES.get(status, _("Error")))
        try:
            return render_template("errors/error.html", status=status, title=title, message=message), status
        except Exception:
            log.exception("error page failed to render")
            return f"{status} {title}", status, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if wants_json():
            return jsonify(exc.to_dict()), exc.status
        flash(exc.message, "error")
        back = request.referrer
        if request.method == "POST" and back and is_safe_redirect(urlsplit(back).path):
            return redirect(urlsplit(back).path + (f"?{urlsplit(back).query}" if urlsplit(back).query else ""))
        return error_response(exc.status, exc.message, exc.code)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(
            400, _("The form has expired or was not sent from this site. Please try again."), "csrf_failed"
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        limit = request.max_content_length
        if status == 429:
            message = _("Too many attempts; please wait and try again.")
        elif status == 413 and limit and (request.content_length or 0) > limit:
            message = _(
                "At most %(size)s MB can be sent at once; choose a smaller file, or fewer files.",
                size=f"{limit / 1024 / 1024:.3g}",
            )
        else:
            message = str(ERROR_TITLES.get(status, _("Error")))
        response = make_response(error_response(status, message, exc.name.lower().replace(" ", "_")))
        # Keep what the exception says about itself: Allow on 405, Retry-After, WWW-Authenticate.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(exc):
        """Database down, unreachable or saturated: 503 page or JSON, never a 500 (the pool reconnects by itself)."""
        try:
            db.session.rollback()
        except SQLAlchemyError:  # the connection is gone; the pool throws it away
            db.session.remove()
        cause = getattr(exc, "orig", None) or exc
        log.error("database unavailable: %s: %s", type(cause).__name__, (str(cause).splitlines() or [""])[0][:200])
        # The page must not reach the database again: render it for an anonymous visitor.
        g._login_user = login_manager.anonymous_user()
        response = make_response(
            error_response(503, _("The database is unavailable. Please try again in a moment."), "database_unavailable")
        )
        response.headers["Retry-After"] = "10"
        return response

    @app.before_request
    def refuse_nul():
        """NUL in a page's query string or form: 400, before it reaches a query (PostgreSQL answers it with an error,
        a 500). The API refuses it in its own way (a 422 from its validator)."""
        if not request.path.startswith("/api/") and request_has_nul():
            return error_response(400, _("The text contains characters that cannot be stored."), "unstorable_text")
        return None

    @app.errorhandler(OverflowError)
    def number_out_of_range(exc: OverflowError):
        """A number too large for the database reached a query (a form field no route bounded): 400, never 500."""
        db.session.rollback()
        return error_response(400, _("A number in the request is out of range."), "number_out_of_range")

    @app.errorhandler(StatementError)
    def statement_failed(exc: StatementError):
        """The same as a statement's error: a number (or a date) that the driver could not convert (an OverflowError
        wrapped by SQLAlchemy), or that PostgreSQL refused as out of its column's range (SQLSTATE 22003, 22008)."""
        cause = exc.orig
        if isinstance(cause, OverflowError) or getattr(cause, "sqlstate", None) in OUT_OF_RANGE_SQLSTATES:
            return number_out_of_range(OverflowError(str(cause)))
        return unexpected_error(exc)

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        db.session.rollback()
        log.exception("unhandled error")
        return error_response(500, _("Something went wrong on our side"), "internal_error")

    @app.template_filter("localtime")
    def localtime_filter(value, fmt: str = "%Y-%m-%d %H:%M"):
        local = to_local(value)
        return local.strftime(fmt) if local else ""

    @app.template_filter("number")
    def number_filter(value) -> str:
        """A count in the reader's locale: 12,345."""
        return format_decimal(value or 0)

    @app.template_filter("mask_id")
    def mask_id_filter(value: str) -> str:
        return mask_id_number(value)


def acting_user():
    """The logged-in user as a plain model object (what services take as `by`), not Flask-Login's proxy."""
    return current_user._get_current_object()
