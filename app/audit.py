"""The audit trail: every change of state worth asking about later is recorded here."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from volunteers.accounts.models import User


class AuditLog(Model):
    """Who did what to which record, and what it was before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: dotted verb, e.g. "role.grant", "id_number.reveal", "volunteer.import"
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    #: the organization the record belongs to, so reviewers can filter their subtree
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")

    actor: Mapped[User | None] = relationship("User")


def record(
    action: str,
    *,
    actor: User | None,
    now: datetime,
    target: object = None,
    organization_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
    ip_address: str = "",
) -> AuditLog:
    """Append one audit entry (flushed with the caller's transaction)."""
    entry = AuditLog(
        at=now,
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=getattr(target, "id", None),
        organization_id=organization_id,
        before=before,
        after=after,
        note=note,
        ip_address=ip_address[:45],
    )
    db.session.add(entry)
    return entry
