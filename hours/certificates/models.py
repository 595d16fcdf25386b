"""Certificates of service hours 志愿服务证明: what was issued, to whom, by whom, and whether it still stands.

A certificate keeps a snapshot of what it certified (the services listed, their total and the
volunteer's name when issued), so its PDF and its public verification page say the same thing
later even when the ledger is corrected afterwards. It is never deleted; it can be revoked.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization


class Certificate(Model):
    """One issued certificate: its serial number, the period and total it certifies, and its revocation."""

    __tablename__ = "hour_certificates"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("total_minutes >= 0", name="total_not_negative"),
        CheckConstraint("(revoked_at is null) = (revoked_by_id is null)", name="revocation_complete"),
        Index("ix_hour_certificates_volunteer", "volunteer_id", "issued_at"),
        Index("ix_hour_certificates_organization", "organization_id", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: e.g. "2026-000123-K7QD9X": year, a counter, random characters and a check character
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: the volunteer's name when issued (the public page shows it masked)
    volunteer_name: Mapped[str] = mapped_column(String(50))
    volunteer_number: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    total_minutes: Mapped[int] = mapped_column()
    #: the services listed: [{"date", "organizer", "content", "kind", "minutes"}, ...]
    services: Mapped[list] = mapped_column(JSON, default=list)
    #: the committee that issues it (the nearest committee above the volunteer's affiliation)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    volunteer: Mapped[User] = relationship(foreign_keys=[volunteer_id])
    organization: Mapped[Organization] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None

    @property
    def total_hours(self) -> str:
        """The total in hours, as certificates state it."""
        return format_hours(self.total_minutes)


def format_hours(minutes: int) -> str:
    """Minutes as hours with up to two decimals, trailing zeros dropped (90 → "1.5")."""
    text = f"{minutes / 60:.2f}".rstrip("0").rstrip(".")
    return text or "0"
