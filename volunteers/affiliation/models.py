"""`AffiliationChange`: one asked-for or applied change of a volunteer's organization; the rows are the history."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization


class ChangeKind(str, enum.Enum):
    """How a change came about."""

    REQUEST = "request"  # the volunteer asked; the receiving organization's staff decide
    STAFF_MOVE = "staff_move"  # an administrator moved the person within their subtree: applied at once
    GRADUATION = "graduation"  # 学社衔接: the university handed a graduate over; the receiving side decides


class ChangeStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class AffiliationChange(Model):
    """A move of `volunteer` from `from_organization` to `to_organization`; approved rows are the affiliation history.

    At most one pending change per volunteer: the partial unique index holds it even for two requests sent at once.
    """

    __tablename__ = "affiliation_changes"
    __table_args__ = (
        CheckConstraint("kind in ('request','staff_move','graduation')", name="kind"),
        CheckConstraint("status in ('pending','approved','refused','cancelled')", name="status"),
        CheckConstraint("from_organization_id <> to_organization_id", name="moves"),
        Index(
            "uq_affiliation_changes_one_pending",
            "volunteer_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_affiliation_changes_status_to", "status", "to_organization_id"),
        Index("ix_affiliation_changes_kind_from", "kind", "from_organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    from_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    to_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10), default=ChangeStatus.PENDING.value)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the volunteer's (or the handing-over side's) note
    reason: Mapped[str] = mapped_column(String(500), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: why it was refused (required then), or a note with an approval
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer: Mapped[User] = relationship(foreign_keys=[volunteer_id])
    from_organization: Mapped[Organization] = relationship(foreign_keys=[from_organization_id])
    to_organization: Mapped[Organization] = relationship(foreign_keys=[to_organization_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def is_pending(self) -> bool:
        return self.status == ChangeStatus.PENDING.value

    def __repr__(self) -> str:
        return f"<AffiliationChange {self.id} {self.kind} {self.status}>"
