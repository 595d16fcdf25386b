"""Loading what a check-in page works on, within the actor's permissions."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.extensions import db
from app.permissions import can_run_checkin
from events.models import Event


def checkin_event(event_id: int) -> Event:
    """The event, or 404; 403 unless the current user may run its check-in."""
    event = db.get_or_404(Event, event_id)
    if not can_run_checkin(current_user, event):
        abort(403)
    return event
