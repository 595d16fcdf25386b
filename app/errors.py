"""Domain errors: each carries an HTTP status, a machine-readable code and a readable message.

Services raise them; one handler shows them as a flashed message on pages and as
{"error": {"code", "message"}} in the API.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request; nothing was changed."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.details = details or {}

    def to_dict(self) -> dict:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return {"error": body}


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
