"""Structured logs: one JSON object per line, the request's id on every line, no ID number or password.

Every line carries: time (UTC, ISO 8601), level, logger, message, request_id (null outside a
request), method, path and user_id (when known), and whatever a caller passed with `extra=`
(the access line adds status, duration_ms, endpoint, remote_addr). `RedactingFilter` runs on the
handler, so it sees every record of every logger: anything shaped like a resident ID number
(17 digits and a digit or X, wherever it stands) is masked as 4419**********123X, and the values
of password-like fields (password=..., "password": "...", Bearer tokens, API tokens) are replaced
by [REDACTED], in the message, its arguments, extra fields and tracebacks alike.

This module imports nothing from the app package at import time: gunicorn.conf.py loads it by
file path in the gunicorn master, which must not import the app (workers load the code afresh,
so `kill -HUP` deploys new code).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from flask import Flask

#: 17 digits and a check character: masked wherever it appears, even inside longer text or numbers
ID_NUMBER = re.compile(r"[0-9]{17}[0-9Xx]")
#: field names whose values never reach a log
SECRET_NAME = r"[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key)[\w-]*"
SECRET_FIELD = re.compile(
    rf"""(?ix)
    (\b{SECRET_NAME}["']?\s*[:=]\s*)     # password=, "password": , new_password :
    ("[^"]*"|'[^']*'|[^\s&,;}}\]]+)      # a quoted value, or up to the next separator
    """
)
BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
API_TOKEN = re.compile(r"\bdgv_[A-Za-z0-9_-]+")
REDACTED = "[REDACTED]"
SECRET_KEY_NAME = re.compile(rf"(?i)^{SECRET_NAME}$")
#: a first look that finds whatever the four patterns above could match (most lines have none of it)
SUSPECT = re.compile(r"[0-9]{17}|(?i:password|passwd|pwd|secret|token|api[_-]?key|bearer|dgv_)")

#: attributes every LogRecord has; anything else on a record came from `extra=` or a filter
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
#: the fields of the request context, in the order they are written
CONTEXT_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id")


def _mask_id(match: re.Match) -> str:
    value = match.group(0)
    return f"{value[:4]}{'*' * 10}{value[-4:]}"


def redact(text: str) -> str:
    """The text with ID numbers masked and password-like values, bearer and API tokens replaced."""
    if not text or not SUSPECT.search(text):
        return text
    text = ID_NUMBER.sub(_mask_id, text)
    text = SECRET_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    text = BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return API_TOKEN.sub(REDACTED, text)


def redact_value(name: str, value: object) -> object:
    """A field's value as it may be logged: secrets by name replaced, strings redacted."""
    if _secret_name(name):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(str(key), item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value("", item) for item in value]
    return value


@functools.lru_cache(maxsize=512)
def _secret_name(name: str) -> bool:
    return SECRET_KEY_NAME.match(name) is not None


class RedactingFilter(logging.Filter):
    """Masks ID numbers and redacts secrets in a record before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed call still logs, without its arguments
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name in set(vars(record)) - _RECORD_FIELDS:
            setattr(record, name, redact_value(name, getattr(record, name)))
        return True


class RequestContextFilter(logging.Filter):
    """Adds the current request's id, method, path and user id to every record made during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            from flask import g, has_request_context, request
        except ImportError:  # pragma: no cover - flask is always installed with the app
            return True
        if not has_request_context():
            return True
        if getattr(record, "request_id", None) is None:
            record.request_id = g.get("request_id")
        if getattr(record, "method", None) is None:
            record.method = request.method
        if getattr(record, "path", None) is None:
            record.path = request.path
        if getattr(record, "user_id", None) is None:
            record.user_id = _loaded_user_id(g.get("_login_user"))
        return True


def _loaded_user_id(user: object) -> int | None:
    """The id of the user already loaded for this request, read from the ORM identity: logging never
    loads an attribute (that would query the database, maybe in the middle of another query)."""
    if user is None:
        return None
    from sqlalchemy import inspect

    state = inspect(user, raiseerr=False)
    if state is None:  # not an ORM object: Flask-Login's anonymous user
        return None
    identity = state.identity
    return identity[0] if identity else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            payload[name] = getattr(record, name, None)
        for name in sorted(set(vars(record)) - _RECORD_FIELDS - set(CONTEXT_FIELDS)):
            if not name.startswith("_"):
                payload[name] = getattr(record, name)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        payload["process"] = record.process
        return json.dumps(payload, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for development: time, level, logger, request id, message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = None
        return super().format(record)


def make_handler(stream: TextIO | None = None, fmt: str = "json") -> logging.Handler:
    """A stream handler with the request context, the redaction and the chosen format (json or text)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler._volunteers_handler = True  # type: ignore[attr-defined]  # a mark on the handler, found again by install_handler
    return handler


def install_handler(stream: TextIO | None = None, fmt: str = "json", level: str | int = "INFO") -> logging.Handler:
    """Make this handler the root logger's only structured handler (replacing one installed before)."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_volunteers_handler", False):
            root.removeHandler(existing)
    handler = make_handler(stream, fmt)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def init_logging(app: Flask) -> None:
    """Install the handler for this process, unless testing or logging is configured already.

    Other handlers on the root logger mean someone else configured logging (pytest capturing
    logs, a server embedding the app): they are left alone. gunicorn.conf.py leaves the root
    logger to the app. LOG_FORMAT: json (default in production) or text; LOG_LEVEL: INFO.
    """
    if app.testing and not app.config.get("LOG_INSTALL_HANDLER"):
        return
    if any(not getattr(handler, "_volunteers_handler", False) for handler in logging.getLogger().handlers):
        return
    production = app.config.get("ENV_NAME") == "production"
    fmt = app.config.get("LOG_FORMAT") or os.environ.get("LOG_FORMAT") or ("json" if production else "text")
    level = (app.config.get("LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO").upper()
    install_handler(fmt=fmt if fmt in ("json", "text") else "json", level=level)
    # No line either format writes shows the thread's or the process's name: records skip looking them up (the
    # logging HOWTO's "Optimization"; the process id stays).
    logging.logThreads = False
    logging.logMultiprocessing = False


def gunicorn_logconfig(level: str = "INFO") -> dict:
    """gunicorn's `logconfig_dict`: its error log as JSON on stderr; no access log of its own (the app writes it)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "json_stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["redact"],
            }
        },
        "root": {"level": level, "handlers": []},  # the app installs its own handler in each worker
        "loggers": {
            "gunicorn.error": {
                "level": level,
                "handlers": ["json_stderr"],
                "propagate": False,
                "qualname": "gunicorn.error",
            },
            "gunicorn.access": {"level": level, "handlers": [], "propagate": False, "qualname": "gunicorn.access"},
        },
    }
