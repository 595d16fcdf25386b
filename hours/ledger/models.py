"""The service-hours ledger: append-only entries and status events, with derived read tables.

Source of truth (append-only; the database refuses UPDATE and DELETE on them with triggers,
migrations/versions/0002_ledger_append_only.py):
- `hour_entries`: one row per credit or correction, in signed minutes;
- `hour_entry_events`: every status change of an entry (recorded, submitted, verified, ...);
- `hour_evidence`: the evidence files of back-filled hours.

Derived, rebuildable by `flask hours rebuild-summary` and checked by `flask hours check-summary`:
- `hour_entry_states`: each entry's current status (its latest event), with the columns that
  list and report queries filter on, so they read one indexed table;
- `hour_summaries`: verified minutes per volunteer and year, scan and back-filled apart.

Lines and corrections. An entry either starts a line (`amends_entry_id` NULL: the hours of one
attendance in one local calendar year, or one back-filled record) or amends the line it names
(`amends_entry_id` = the line's first entry). A correction is ONE delta entry: its minutes are
the new total minus what the line counts (its verified entries) when it is made, so a reversal
is the negative of that. A line holds at most one pending (recorded or submitted) entry at a
time (a partial unique index on hour_entry_states), so a delta is decided against exactly the
total it was computed from. Only verified entries count anywhere.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

if TYPE_CHECKING:
    from checkin.models import Attendance
    from events.models import Event, Shift


class EntryKind(str, enum.Enum):
    """Scan hours come from attendance; back-filled (补录) hours from paper records, entered by hand."""

    SCAN = "scan"
    BACKFILL = "backfill"


class EntryStatus(str, enum.Enum):
    """recorded → submitted → verified | rejected; withdrawn when its attendance changed before a decision."""

    RECORDED = "recorded"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


PENDING_STATUSES = (EntryStatus.RECORDED.value, EntryStatus.SUBMITTED.value)
FINAL_STATUSES = (EntryStatus.VERIFIED.value, EntryStatus.REJECTED.value, EntryStatus.WITHDRAWN.value)


class RoundingRule(str, enum.Enum):
    """How an organization rounds each attendance's credited minutes."""

    NONE = "none"
    DOWN_15 = "down_15"  # down to a multiple of 15 minutes
    NEAREST_30 = "nearest_30"  # to the nearest multiple of 30 minutes (15 rounds up)


class HourEvidence(Model):
    """An uploaded evidence file (PDF, JPEG or PNG) of back-filled hours, stored under instance/evidence/."""

    __tablename__ = "hour_evidence"
    __table_args__ = (
        CheckConstraint("content_type in ('application/pdf','image/jpeg','image/png')", name="content_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: random file name under HOURS_EVIDENCE_DIR; never derived from the upload's name
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(30))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(200), default="")
    #: the organizing organization of the event it documents (who may open it is decided from it)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()


class HourEntry(Model):
    """One credit or correction of service minutes; never updated or deleted."""

    __tablename__ = "hour_entries"
    __table_args__ = (
        CheckConstraint("kind in ('scan','backfill')", name="kind"),
        CheckConstraint("kind = 'backfill' or attendance_id is not null", name="scan_has_attendance"),
        CheckConstraint("amends_entry_id is not null or minutes >= 0", name="first_entry_not_negative"),
        CheckConstraint("rounding in ('none','down_15','nearest_30')", name="rounding"),
        # An attendance is recorded once per local calendar year it touches.
        Index(
            "uq_hour_entries_attendance_year",
            "attendance_id",
            "service_year",
            unique=True,
            postgresql_where=text("amends_entry_id is null"),
            sqlite_where=text("amends_entry_id is null"),
        ),
        Index("ix_hour_entries_volunteer_date", "volunteer_id", "service_date"),
        Index("ix_hour_entries_event", "event_id"),
        Index("ix_hour_entries_amends", "amends_entry_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    #: the attendance it credits (scan hours); NULL for back-filled hours
    attendance_id: Mapped[int | None] = mapped_column(ForeignKey("attendances.id"))
    #: the organizing organization when it was recorded (whose reviewers verify it)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: local (Asia/Shanghai) date the service took place; the year it counts in
    service_date: Mapped[date] = mapped_column(Date)
    service_year: Mapped[int] = mapped_column()
    #: signed: corrections and reversals may be negative
    minutes: Mapped[int] = mapped_column()
    #: the credited interval after clipping to the shift window (scan hours of a line's first entry)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rounding: Mapped[str] = mapped_column(String(12), default=RoundingRule.NONE.value)
    #: the attendance's last change (check-out or correction) this entry was computed from
    source_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the first entry of the line this entry corrects; NULL for a line's first entry
    amends_entry_id: Mapped[int | None] = mapped_column(ForeignKey("hour_entries.id"))
    #: who recorded it: the person who closed or corrected the attendance, or who entered it by hand
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("hour_evidence.id"))

    volunteer: Mapped[User] = relationship(foreign_keys=[volunteer_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    organization: Mapped[Organization] = relationship()
    event: Mapped[Event] = relationship()
    shift: Mapped[Shift | None] = relationship()
    attendance: Mapped[Attendance | None] = relationship()
    evidence: Mapped[HourEvidence | None] = relationship()
    state: Mapped[HourEntryState] = relationship(uselist=False, viewonly=True)

    @property
    def line_id(self) -> int:
        """The id of the line's first entry (its own id when it starts the line)."""
        return self.amends_entry_id or self.id

    @property
    def is_correction(self) -> bool:
        return self.amends_entry_id is not None


class HourEntryEvent(Model):
    """A status change of an entry, who made it, when and why; never updated or deleted."""

    __tablename__ = "hour_entry_events"
    __table_args__ = (
        CheckConstraint("status in ('recorded','submitted','verified','rejected','withdrawn')", name="status"),
        Index("ix_hour_entry_events_entry", "entry_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("hour_entries.id"))
    status: Mapped[str] = mapped_column(String(10))
    #: the status before (NULL for the first event)
    from_status: Mapped[str | None] = mapped_column(String(10))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")

    by: Mapped[User | None] = relationship()


class HourEntryState(Model):
    """Derived: an entry's current status and the columns lists filter on (rebuildable from the ledger)."""

    __tablename__ = "hour_entry_states"
    __table_args__ = (
        CheckConstraint("status in ('recorded','submitted','verified','rejected','withdrawn')", name="status"),
        # A line waits for at most one decision at a time.
        Index(
            "uq_hour_entry_states_pending_line",
            "line_id",
            unique=True,
            postgresql_where=text("status in ('recorded','submitted')"),
            sqlite_where=text("status in ('recorded','submitted')"),
        ),
        Index("ix_hour_entry_states_volunteer", "volunteer_id", "status", "service_date"),
        Index("ix_hour_entry_states_organization", "organization_id", "status", "service_date"),
        Index("ix_hour_entry_states_event", "event_id", "status"),
        # Reports read verified rows of a period from this index alone (bench/ledger.py: city report 4.1 s → < 1 s).
        Index(
            "ix_hour_entry_states_status_date",
            "status",
            "service_date",
            postgresql_include=["organization_id", "event_id", "volunteer_id", "kind", "minutes"],
        ),
        Index("ix_hour_entry_states_line", "line_id"),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("hour_entries.id"), primary_key=True)
    line_id: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(10))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    kind: Mapped[str] = mapped_column(String(10))
    service_date: Mapped[date] = mapped_column(Date)
    service_year: Mapped[int] = mapped_column()
    minutes: Mapped[int] = mapped_column()

    entry: Mapped[HourEntry] = relationship(viewonly=True)


class HourSummary(Model):
    """Derived: verified minutes of a volunteer in a local calendar year, scan and back-filled apart."""

    __tablename__ = "hour_summaries"

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    service_year: Mapped[int] = mapped_column(primary_key=True)
    scan_minutes: Mapped[int] = mapped_column(default=0)
    backfill_minutes: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def total_minutes(self) -> int:
        return self.scan_minutes + self.backfill_minutes


class HourDispute(Model):
    """A volunteer's objection to an entry, and the reviewer's answer."""

    __tablename__ = "hour_disputes"
    __table_args__ = (
        CheckConstraint("status in ('open','answered')", name="status"),
        Index(
            "uq_hour_disputes_open_entry",
            "entry_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_hour_disputes_organization_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("hour_entries.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: the entry's organizing organization (whose reviewers answer)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="open")
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the correction the reviewer made while answering, if any
    correction_entry_id: Mapped[int | None] = mapped_column(ForeignKey("hour_entries.id"))

    entry: Mapped[HourEntry] = relationship(foreign_keys=[entry_id])
    volunteer: Mapped[User] = relationship(foreign_keys=[volunteer_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    organization: Mapped[Organization] = relationship()


class RoundingPolicy(Model):
    """An organization's rounding rule; the organizer's nearest ancestor (or itself) with one applies."""

    __tablename__ = "hour_rounding_policies"
    __table_args__ = (CheckConstraint("rule in ('none','down_15','nearest_30')", name="rule"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(12))
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
