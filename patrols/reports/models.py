"""Patrol reports (巡河记录): what a patrol found, its photos, and each finding's follow-up.

Invariants held by the database:
- one report per patrol (unique patrol_shift_id); later findings are added to it;
- a finding's category and status are from their lists; latitude and longitude are given together
  and lie within range;
- the follow-up is stamped: a forwarded finding names who, when and to whom; a resolved one who and when.
Photo files live under PATROL_PHOTO_DIR with random names (patrols/reports/photos.py); a row is written only
for a photo that was decoded, cleaned and stored.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow
from patrols.segments.models import PatrolShift, RiverSegment
from volunteers.accounts.models import User


class FindingCategory(str, enum.Enum):
    """What a patrol found."""

    RUBBISH = "rubbish"  # 垃圾
    SEWAGE_OUTFALL = "sewage_outfall"  # 排污口
    DAMAGED_FACILITY = "damaged_facility"  # 设施损坏
    ILLEGAL_FISHING = "illegal_fishing"  # 非法捕捞
    OTHER = "other"  # 其他


class FindingStatus(str, enum.Enum):
    """reported → forwarded → resolved (a finding dealt with on the spot may be resolved at once)."""

    REPORTED = "reported"
    FORWARDED = "forwarded"
    RESOLVED = "resolved"


CATEGORY_LABELS = {
    FindingCategory.RUBBISH.value: _l("Rubbish"),
    FindingCategory.SEWAGE_OUTFALL.value: _l("Sewage outfall"),
    FindingCategory.DAMAGED_FACILITY.value: _l("Damaged facility"),
    FindingCategory.ILLEGAL_FISHING.value: _l("Illegal fishing"),
    FindingCategory.OTHER.value: _l("Other"),
}

STATUS_LABELS = {
    FindingStatus.REPORTED.value: _l("Reported"),
    FindingStatus.FORWARDED.value: _l("Forwarded"),
    FindingStatus.RESOLVED.value: _l("Resolved"),
}

OPEN_STATUSES = (FindingStatus.REPORTED.value, FindingStatus.FORWARDED.value)


class PatrolReport(Model):
    """巡河记录: the report of one patrol (a patrol shift of a segment), holding its findings."""

    __tablename__ = "patrol_reports"
    __table_args__ = (Index("ix_patrol_reports_segment_date", "segment_id", "patrol_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the patrol reported on; one report per patrol
    patrol_shift_id: Mapped[int] = mapped_column(ForeignKey("patrol_shifts.id"), unique=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("river_segments.id"))
    #: the patrol's local (Asia/Shanghai) date, copied from the patrol shift
    patrol_date: Mapped[date] = mapped_column(Date)
    #: what the patrol saw overall (optional when there are findings)
    summary: Mapped[str] = mapped_column(Text, default="")
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    patrol_shift: Mapped[PatrolShift] = relationship()
    segment: Mapped[RiverSegment] = relationship()
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    findings: Mapped[list[PatrolFinding]] = relationship(
        back_populates="report", order_by="PatrolFinding.id", cascade="all, delete-orphan"
    )


class PatrolFinding(Model):
    """One thing a patrol found, where, and how it was followed up (who and when at each step)."""

    __tablename__ = "patrol_findings"
    __table_args__ = (
        CheckConstraint(
            "category in ('rubbish','sewage_outfall','damaged_facility','illegal_fishing','other')", name="category"
        ),
        CheckConstraint("status in ('reported','forwarded','resolved')", name="status"),
        CheckConstraint("(latitude is null) = (longitude is null)", name="position_pair"),
        CheckConstraint(
            "latitude is null or (latitude between -90 and 90 and longitude between -180 and 180)",
            name="position_range",
        ),
        CheckConstraint(
            "status <> 'reported' or (forwarded_at is null and resolved_at is null)", name="reported_unstamped"
        ),
        CheckConstraint(
            "status <> 'forwarded' or (forwarded_at is not null and resolved_at is null)", name="forwarded_stamped"
        ),
        CheckConstraint("forwarded_at is null or forwarded_to <> ''", name="forwarded_to"),
        CheckConstraint("status <> 'resolved' or resolved_at is not null", name="resolved_stamped"),
        Index("ix_patrol_findings_segment_status", "segment_id", "status"),
        Index("ix_patrol_findings_report", "report_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("patrol_reports.id", ondelete="CASCADE"))
    #: copied from the report, so a segment's open findings are one indexed query
    segment_id: Mapped[int] = mapped_column(ForeignKey("river_segments.id"))
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default=FindingStatus.REPORTED.value)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    forwarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: to whom, as text, e.g. 南城街道河长办
    forwarded_to: Mapped[str] = mapped_column(String(120), default="")
    forward_note: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str] = mapped_column(Text, default="")

    report: Mapped[PatrolReport] = relationship(back_populates="findings")
    segment: Mapped[RiverSegment] = relationship()
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])
    forwarded_by: Mapped[User | None] = relationship(foreign_keys=[forwarded_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    photos: Mapped[list[PatrolPhoto]] = relationship(
        back_populates="finding", order_by="PatrolPhoto.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def has_position(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class PatrolPhoto(Model):
    """A photo of a finding: a cleaned JPEG stored under a random name (patrols/reports/photos.py)."""

    __tablename__ = "patrol_photos"
    __table_args__ = (
        CheckConstraint("width > 0 and height > 0", name="dimensions"),
        CheckConstraint("size_bytes > 0", name="size"),
        Index("ix_patrol_photos_finding", "finding_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("patrol_findings.id", ondelete="CASCADE"))
    #: random file name under PATROL_PHOTO_DIR; never derived from the upload's name
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    size_bytes: Mapped[int] = mapped_column()
    #: the upload's own name, for people (shown, never used as a path)
    original_name: Mapped[str] = mapped_column(String(200), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    finding: Mapped[PatrolFinding] = relationship(back_populates="photos")
    uploaded_by: Mapped[User | None] = relationship()
