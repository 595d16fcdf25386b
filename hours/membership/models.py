"""The membership prerequisite's records: ideology evaluations and committees' eligibility verifications.

Both tables only grow: a new evaluation or decision is a new row, and the latest row of an
applicant is the one that counts. Each keeps who recorded it, when, and for which organization,
and every row is also in the audit trail.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization


class IdeologyEvaluation(Model):
    """思政考评: whether an applicant passed the ideology evaluation, as the branch recorded it."""

    __tablename__ = "membership_evaluations"
    __table_args__ = (Index("ix_membership_evaluations_applicant", "applicant_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    passed: Mapped[bool] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the applicant's affiliation when it was recorded
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)

    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    organization: Mapped[Organization] = relationship()


class EligibilityVerification(Model):
    """A committee's (or branch's) own decision that an applicant meets the prerequisite, with what it saw."""

    __tablename__ = "membership_verifications"
    __table_args__ = (
        CheckConstraint("months >= 0 and theory_minutes >= 0", name="snapshot_not_negative"),
        Index("ix_membership_verifications_applicant", "applicant_id", "id"),
        Index("ix_membership_verifications_approved_at", "approved", "verified_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the branch or committee that decided: the verifier's nearest organization above the applicant
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved: Mapped[bool] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    # What the committee saw when it decided (the export to the national system reads these).
    activist_since: Mapped[date | None] = mapped_column(Date)
    months: Mapped[int] = mapped_column(default=0)
    theory_minutes: Mapped[int] = mapped_column(default=0)
    service_minutes: Mapped[int] = mapped_column(default=0)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("membership_evaluations.id"))

    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    organization: Mapped[Organization] = relationship()
    evaluation: Mapped[IdeologyEvaluation | None] = relationship()


#: The committee list starts from "applicants affiliated in these organizations": a small partial index on
#: users (only 入团积极分子 rows) turns that from a scan of every account into a few index lookups. It
#: belongs to the users table but is declared here, beside the query it serves (hours/membership/progress.py).
APPLICANT_INDEX = Index(
    "ix_users_applicant_organization",
    User.__table__.c.organization_id,
    postgresql_where=text("political_status = '入团积极分子'"),
    sqlite_where=text("political_status = '入团积极分子'"),
)
