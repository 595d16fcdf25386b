"""Loading what a page works on: one object by id, within what the actor may see or do.

    event = load_or_404(Event, event_id, can_run_checkin, denied=403)

Missing: 404. Present, but the permission rule says the current user may not see or act on it: `denied`,
404 by default, so the page does not even confirm that it exists; a page that tells the user they may
not (403) says so with `denied=403`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from app.extensions import db

M = TypeVar("M")


def load_or_404(model: type[M], object_id: Any, may: Callable[[Any, M], bool] | None = None, *, denied: int = 404) -> M:
    """The `model` row with this id (404 when there is none), if `may(current_user, row)` holds (else `denied`)."""
    found = db.session.get(model, object_id) if object_id is not None else None
    if found is None:
        abort(404)
    if may is not None and not may(current_user, found):
        abort(denied)
    return found
