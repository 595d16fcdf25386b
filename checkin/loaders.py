"""Loading what a check-in page works on, within the actor's permissions."""

from __future__ import annotations

from app.permissions import can_run_checkin
from app.web.loading import load_or_404
from events.models import Event


def checkin_event(event_id: int | None) -> Event:
    """The event, or 404; 403 unless the current user may run its check-in."""
    return load_or_404(Event, event_id, can_run_checkin, denied=403)
