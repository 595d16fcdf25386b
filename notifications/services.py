"""In-app notifications (通知中心). Stored as a kind plus parameters and rendered in the reader's language.

`notify()` is the one way any service tells a user something; it is idempotent per
`dedupe_key` (a reminder sent twice for the same period is stored once).

Parameters: shift messages take event, position, starts_at, ends_at and place (what
`shift_params(shift)` returns; event_title, position_name, shift_start and meeting_point are
accepted too), optionally "reason"; credential messages take "credential" and "expires_at".
Times are stored as ISO UTC strings and shown in Asia/Shanghai. Each kind in MESSAGES has
an English title and body (lazy msgids) that `render()` puts in the reader's language; an
unknown kind shows a generic title, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db, rowcount
from app.timeutil import to_local
from app.web.pages import is_safe_redirect
from notifications.models import Notification

if TYPE_CHECKING:
    from events.models import Shift
    from volunteers.accounts.models import User


def notify(
    user_id: int, kind: str, *, params: dict | None = None, link: str = "", now: datetime, dedupe_key: str | None = None
) -> bool:
    """Store a notification for a user; False when one with the same dedupe_key already exists."""
    values = {
        "user_id": user_id,
        "kind": kind,
        "params": params or {},
        "link": link,
        "created_at": now,
        "dedupe_key": dedupe_key,
    }
    if dedupe_key is None:
        db.session.execute(insert(Notification).values(**values))
        return True
    if db.session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.execute(insert(Notification).values(**values))
    except IntegrityError:
        return False  # a concurrent run stored it first
    return True


#: kind -> (title, body). Bodies use the parameters described in the module docstring.
MESSAGES = {
    "assigned": (_l("You have a shift"), _l("You are assigned to %(event)s · %(position)s, starting %(start)s.")),
    "waitlisted": (
        _l("You are on the waiting list"),
        _l(
            "%(event)s · %(position)s, %(start)s, is full: you are on its waiting list "
            "and will be told if a place frees up."
        ),
    ),
    "promoted": (
        _l("You got a place from the waiting list"),
        _l("A place freed up: you are now assigned to %(event)s · %(position)s, starting %(start)s."),
    ),
    "changed": (_l("Your shift has changed"), _l("%(event)s · %(position)s, %(start)s, has changed.")),
    "moved": (
        _l("Your shift was moved"),
        _l("You were moved to %(event)s · %(position)s, starting %(start)s (before: %(from_start)s)."),
    ),
    "cancelled": (
        _l("Your shift was cancelled"),
        _l("Your place on %(event)s · %(position)s, %(start)s, was cancelled."),
    ),
    "unassigned": (
        _l("You were taken off a shift"),
        _l("A coordinator took you off %(event)s · %(position)s, %(start)s."),
    ),
    "no_show": (
        _l("Marked as not attended"),
        _l(
            "You were marked as not attending %(event)s · %(position)s, %(start)s. "
            "If this is wrong, contact the coordinator."
        ),
    ),
    "shift_changed": (
        _l("Your shift has changed"),
        _l("%(event)s: your shift starting %(start)s now meets at %(place)s."),
    ),
    "shift_cancelled": (_l("Your shift was cancelled"), _l("%(event)s · %(position)s, %(start)s, was cancelled.")),
    "event_changed": (_l("An event you signed up for has changed"), _l("%(event)s now starts %(start)s at %(place)s.")),
    "event_cancelled": (
        _l("An event was cancelled"),
        _l("%(event)s, %(start)s, was cancelled, and your shifts in it with it."),
    ),
    "reminder_24h": (
        _l("Reminder: upcoming shift"),
        _l("%(event)s · %(position)s starts %(start)s. Meeting point: %(place)s."),
    ),
    "reminder_2h": (
        _l("Your shift starts soon"),
        _l("%(event)s · %(position)s starts %(start)s. Meeting point: %(place)s."),
    ),
    "credential_granted": (
        _l("Training credential granted"),
        _l("You now hold the credential %(credential)s, valid until %(expires)s."),
    ),
    "credential_expiring": (
        _l("Training credential expires soon"),
        _l("Your credential %(credential)s expires on %(expires)s. Attend the course again to renew it."),
    ),
    "credential_expired": (
        _l("Training credential expired"),
        _l(
            "Your credential %(credential)s expired on %(expires)s. "
            "Positions that require it are closed to you until you renew it."
        ),
    ),
}
#: other spellings of the same parameter used by some services (first one found wins)
PARAM_ALIASES = {
    "event": ("event", "event_title"),
    "position": ("position", "position_name"),
    "starts_at": ("starts_at", "shift_start"),
    "place": ("place", "meeting_point"),
}
PERMANENT_CREDENTIAL_BODY = _l("You now hold the credential %(credential)s. It does not expire.")
FALLBACK_TITLE = _l("Notification")
REASON_LINE = _l("Reason: %(reason)s")


class _Params(dict[str, Any]):
    """Message parameters; a missing one shows as a dash instead of failing."""

    def __missing__(self, key: str) -> str:
        return "—"


def _local(value: str | None, fmt: str) -> str:
    if not value:
        return ""
    try:
        return to_local(datetime.fromisoformat(value)).strftime(fmt)
    except (TypeError, ValueError):
        return ""


def display_params(params: dict) -> dict:
    """Stored parameters plus their display forms: start/end in local time, expiry as a local date."""
    params = params or {}
    shown = _Params({k: v for k, v in params.items() if isinstance(v, (str, int, float)) and v != ""})
    for name, spellings in PARAM_ALIASES.items():
        value = next((params[key] for key in spellings if params.get(key)), None)
        if value is not None:
            shown[name] = value
    start = _local(shown.get("starts_at"), "%Y-%m-%d %H:%M")
    end_full = _local(params.get("ends_at"), "%Y-%m-%d %H:%M")
    if start:
        shown["start"] = start
    if end_full:
        shown["end"] = end_full[11:] if end_full[:10] == start[:10] else end_full
    if params.get("from_shift_start"):
        shown["from_start"] = _local(params["from_shift_start"], "%Y-%m-%d %H:%M")
    if params.get("expires_at"):
        shown["expires"] = _local(params["expires_at"], "%Y-%m-%d")
    return shown


def render(notification: Notification) -> tuple[str, str]:
    """(title, body) of a notification in the current language."""
    params = display_params(notification.params or {})
    kind = notification.kind
    if kind not in MESSAGES:
        return str(FALLBACK_TITLE), str(params.get("message") or params.get("event") or "")
    title, body = MESSAGES[kind]
    if kind == "credential_granted" and not notification.params.get("expires_at"):
        body = PERMANENT_CREDENTIAL_BODY
    text = str(body) % params
    if notification.params.get("reason"):
        text += " " + str(REASON_LINE) % params
    return str(title) % params, text


@dataclass
class ShownNotification:
    """A notification ready for a page or an email."""

    id: int
    title: str
    body: str
    link: str
    created_at: datetime
    unread: bool


def shown(notification: Notification) -> ShownNotification:
    """Render a notification; links are kept only when they are paths on this site."""
    title, body = render(notification)
    link = notification.link if is_safe_redirect(notification.link) else ""
    return ShownNotification(notification.id, title, body, link, notification.created_at, notification.read_at is None)


def shift_params(shift: Shift) -> dict:
    """The parameters every shift message uses, from a Shift (with its position and event)."""
    return {
        "event": shift.event.title,
        "position": shift.position.name,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "place": shift.meeting_point or shift.event.place,
        "event_id": shift.event_id,
        "shift_id": shift.id,
    }


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread (one indexed COUNT)."""
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def notifications_page(user: User, *, page: int, per_page: int = 20) -> Pagination:
    """One page of the user's notifications, newest first."""
    query = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)


def mark_read(user: User, notification: Notification, *, now: datetime) -> bool:
    """Mark one of the user's notifications read; False when it already was."""
    changed = rowcount(
        db.session.execute(
            update(Notification)
            .where(Notification.id == notification.id, Notification.user_id == user.id, Notification.read_at.is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.expire(notification, ["read_at"])
    return changed == 1


def mark_all_read(user: User, *, now: datetime) -> int:
    """Mark every unread notification of the user read; returns how many."""
    return (
        rowcount(
            db.session.execute(
                update(Notification)
                .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                .values(read_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        or 0
    )
