"""Personal API tokens: integrations authenticate with `Authorization: Bearer <token>`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow
from volunteers.accounts.models import User


class ApiToken(Model):
    """A named bearer token of one user; only its SHA-256 is stored, the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: what the holder calls it, e.g. "签到小程序" or "team roster sync"
    name: Mapped[str] = mapped_column(String(60))
    #: hex SHA-256 of the whole secret; the secret itself is never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the first characters of the secret, so its holder can tell tokens apart
    prefix: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
