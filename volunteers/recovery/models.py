"""Models of account recovery: one-time password reset links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow
from volunteers.accounts.models import User


class PasswordResetLink(Model):
    """A one-time link that lets a person choose a new password; only the SHA-256 of its secret is stored."""

    __tablename__ = "password_reset_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the reviewer or administrator who issued it
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: hex SHA-256 of the secret in the link; the secret itself is shown once and never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: set when the password was reset with it
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: set when a newer link, a reset by any other way or disabling the account made it useless
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])

    def usable_at(self, now: datetime) -> bool:
        """Neither used, voided nor expired at `now`."""
        return self.used_at is None and self.voided_at is None and now < self.expires_at
