"""In-app notifications (通知中心): one message to one user, stored as a kind plus parameters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow


class Notification(Model):
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
