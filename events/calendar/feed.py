"""The private calendar feed (.ics, RFC 5545) of a volunteer's shifts.

The feed lives at /calendar/<User.calendar_token>.ics and needs no login, so a phone's
calendar can subscribe to it; the token is the secret, and resetting it retires the old URL.
Times are written in UTC ("...Z"), which every calendar converts to local time; each
event's UID is derived from the shift and the volunteer, so it stays the same across
refreshes (and across a cancel and re-sign-up of the same shift).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.extensions import db
from events.models import Assignment, AssignmentStatus, Event, EventStatus, Position, Shift
from volunteers.accounts.models import User

#: shifts that ended longer ago than this are left out of the feed
FEED_HISTORY = timedelta(days=90)
FEED_LIMIT = 1000
TOKEN_LENGTH = 22
PRODID = "-//Dongguan Youth League//Volunteer Service//ZH"
#: the statuses of shifts a volunteer is (or was) on
CALENDAR_STATUSES = (AssignmentStatus.ASSIGNED.value, AssignmentStatus.COMPLETED.value)


def new_calendar_token() -> str:
    """A fresh unguessable token (about 130 bits)."""
    return secrets.token_urlsafe(16)[:TOKEN_LENGTH]


def user_for_token(token: str) -> User | None:
    """The active user whose feed token this is, or None."""
    if len(token) != TOKEN_LENGTH or not all(ch.isalnum() or ch in "-_" for ch in token):
        return None
    user = db.session.scalar(select(User).where(User.calendar_token == token))
    if user is None or user.is_disabled:
        return None
    return user


def reset_calendar_token(user: User, *, now: datetime) -> str:
    """Give the user a new feed token; the old URL stops working at once."""
    user.calendar_token = new_calendar_token()
    audit.record("calendar.reset_token", actor=user, now=now, target=user, organization_id=user.organization_id)
    db.session.flush()
    return user.calendar_token


def calendar_shifts(user: User, *, now: datetime) -> list[tuple[Assignment, Shift, Position, Event]]:
    """The shifts the volunteer is assigned to (or completed), recent and upcoming, in time order."""
    rows = db.session.execute(
        select(Assignment, Shift, Position, Event)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Position, Position.id == Shift.position_id)
        .join(Event, Event.id == Shift.event_id)
        .where(
            Assignment.user_id == user.id,
            Assignment.status.in_(CALENDAR_STATUSES),
            Shift.is_cancelled.is_(False),
            Event.status != EventStatus.CANCELLED.value,
            Shift.ends_at >= now - FEED_HISTORY,
        )
        .order_by(Shift.starts_at, Shift.id)
        .limit(FEED_LIMIT)
    ).all()
    return [tuple(row) for row in rows]


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch == "\n" or ch == "\t" or ord(ch) >= 32)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets (RFC 5545 3.1), never splitting a character."""
    pieces: list[str] = []
    current: list[str] = []
    size, limit = 0, 75
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, 74  # continuation lines start with one space
        current.append(ch)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces)


def _stamp(value: datetime) -> str:
    """A UTC date-time value (FORM #2 of RFC 5545 3.3.5)."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event_lines(
    assignment: Assignment, shift: Shift, position: Position, event: Event, *, uid_domain: str, now: datetime
) -> list[str]:
    place = shift.meeting_point or event.place
    details = [_("Position: %(position)s", position=position.name)]
    if event.place:
        details.append(_("Place: %(place)s", place=event.place))
    if shift.meeting_point:
        details.append(_("Meeting point: %(place)s", place=shift.meeting_point))
    details.append(_("Organizer: %(organization)s", organization=event.organization.display_name))
    lines = [
        "BEGIN:VEVENT",
        f"UID:shift-{shift.id}-volunteer-{assignment.user_id}@{uid_domain}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(shift.starts_at)}",
        f"DTEND:{_stamp(shift.ends_at)}",
        f"LAST-MODIFIED:{_stamp(max(assignment.updated_at, assignment.created_at))}",
        "SUMMARY:" + escape_text(f"{event.title} · {position.name}"),
        "LOCATION:" + escape_text(place),
        "DESCRIPTION:" + escape_text("\n".join(details)),
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
    ]
    if event.latitude is not None and event.longitude is not None:
        lines.append(f"GEO:{event.latitude:.6f};{event.longitude:.6f}")
    lines.append("END:VEVENT")
    return lines


def calendar_feed(user: User, *, now: datetime, uid_domain: str) -> str:
    """The whole .ics text of the volunteer's shifts, in the volunteer's language, CRLF line ends."""
    with force_locale(user.locale or "zh"):
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            f"PRODID:{PRODID}",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:" + escape_text(_("My volunteer shifts")),
            "X-WR-TIMEZONE:Asia/Shanghai",
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
            "X-PUBLISHED-TTL:PT1H",
        ]
        for assignment, shift, position, event in calendar_shifts(user, now=now):
            lines += _event_lines(assignment, shift, position, event, uid_domain=uid_domain, now=now)
        lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
