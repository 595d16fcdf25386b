"""Shift reminders, 24 hours and 2 hours before a shift starts.

Run every few minutes by the scheduler (events/tasks.py). Each reminder is stored with
the dedupe key "<kind>:<assignment id>", so however often and however concurrently the job
runs, a volunteer gets each reminder for an assignment at most once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, literal, select

from app.extensions import db
from events.models import Assignment, AssignmentStatus, Event, EventStatus, Position, Shift
from events.signup.places import shift_link
from notifications.models import Notification
from notifications.services import notify, shift_params

#: (kind, latest lead time, earliest lead time): a shift starting in (earliest, latest] gets it.
#: A volunteer who signs up 90 minutes before a shift gets only the 2-hour reminder.
REMINDERS = (
    ("reminder_24h", timedelta(hours=24), timedelta(hours=2)),
    ("reminder_2h", timedelta(hours=2), timedelta(0)),
)


def due_reminders(kind_window: tuple[str, timedelta, timedelta], *, now: datetime) -> list[tuple[Assignment, Shift]]:
    """(assignment, shift) pairs that should have the reminder of this window by `now` and do not yet.

    Events and positions are loaded in the same query, so `shift.event` and `shift.position`
    come from the identity map without further queries.
    """
    kind, latest, earliest = kind_window
    already_sent = exists().where(Notification.dedupe_key == literal(f"{kind}:", String) + cast(Assignment.id, String))
    rows = db.session.execute(
        select(Assignment, Shift, Event, Position)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Event, Event.id == Shift.event_id)
        .join(Position, Position.id == Shift.position_id)
        .where(
            Assignment.status == AssignmentStatus.ASSIGNED.value,
            Shift.is_cancelled.is_(False),
            Event.status == EventStatus.PUBLISHED.value,
            Shift.starts_at > now + earliest,
            Shift.starts_at <= now + latest,
            ~already_sent,
        )
        .order_by(Shift.starts_at, Assignment.id)
    ).all()
    return [(assignment, shift) for assignment, shift, _event, _position in rows]


def send_shift_reminders(*, now: datetime) -> dict:
    """Store every reminder that is due and not yet sent; returns how many of each kind were sent."""
    sent: dict[str, int] = {}
    for window in REMINDERS:
        kind = window[0]
        sent[kind] = 0
        for assignment, shift in due_reminders(window, now=now):
            if notify(
                assignment.user_id,
                kind,
                params=shift_params(shift),
                link=shift_link(shift),
                now=now,
                dedupe_key=f"{kind}:{assignment.id}",
            ):
                sent[kind] += 1
    return sent
