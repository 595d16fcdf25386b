"""In-app notifications (通知中心). Stored as a kind plus parameters and rendered in the reader's language.

`notify()` is the one way any service tells a user something; it is idempotent per
`dedupe_key` (a reminder sent twice for the same period is stored once).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import UTCDateTime, utcnow


class Notification(db.Model):
    """One message to one user."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: "assigned", "changed", "cancelled", "waitlisted", "promoted", "reminder_24h", "reminder_2h", ...
    kind: Mapped[str] = mapped_column(String(30))
    #: values for the message template of `kind` (event title, shift time, ...)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: set for messages that must never be sent twice (e.g. "reminder_24h:assignment:42")
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    #: when the email copy was sent (or logged when SMTP is not configured)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def notify(user_id: int, kind: str, *, params: dict | None = None, link: str = "", now: datetime,
           dedupe_key: str | None = None) -> bool:
    """Store a notification for a user; False when one with the same dedupe_key already exists."""
    values = dict(user_id=user_id, kind=kind, params=params or {}, link=link, created_at=now, dedupe_key=dedupe_key)
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
