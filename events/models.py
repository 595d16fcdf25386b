"""Events, positions, shifts, assignments, team quotas and training credentials.

Invariants the database holds itself (both SQLite and PostgreSQL):
- a shift never has more assigned volunteers than its headcount: `shifts.assigned_count`
  is only changed by guarded UPDATEs (`... WHERE assigned_count < capacity`) and a CHECK
  keeps it within 0..capacity;
- a volunteer has at most one live (assigned or waitlisted) assignment per shift: a partial
  unique index.
The overlap rule (no two overlapping shifts) is enforced by services that first take
the volunteer's row with a guarded UPDATE of `users.signup_serial`, which serializes a
volunteer's concurrent sign-ups on both databases.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.timeutil import UTCDateTime, utcnow
from volunteers.accounts.models import Skill, User
from volunteers.organizations.models import Organization


class EventKind(str, enum.Enum):
    """活动类型."""

    EXPO = "expo"  # 大型活动 / 展会
    RIVER_PATROL = "river_patrol"  # 河小青 护河
    COMMUNITY = "community"  # 社区服务
    CIVILIZATION = "civilization"  # 文明实践（劝导/交通/旅游/宣讲）
    TRAINING = "training"  # 志愿者学堂 培训课程
    THEORY_CLASS = "theory_class"  # 团前教育 理论学习


class EventStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class GeofenceMode(str, enum.Enum):
    """What happens to a check-in outside the event's radius."""

    REFUSE = "refuse"
    FLAG = "flag"


class AssignmentStatus(str, enum.Enum):
    """排班状态."""

    APPLIED = "applied"  # asked for, awaiting a coordinator (team quota requests)
    ASSIGNED = "assigned"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    COMPLETED = "completed"


LIVE_STATUSES = (AssignmentStatus.ASSIGNED.value, AssignmentStatus.WAITLISTED.value)


class Event(Model):
    """An activity organized by one organization."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="time_order"),
        CheckConstraint(
            "kind in ('expo','river_patrol','community','civilization','training','theory_class')", name="kind"
        ),
        CheckConstraint("status in ('draft','published','cancelled')", name="status"),
        CheckConstraint("geofence_mode in ('refuse','flag')", name="geofence_mode"),
        CheckConstraint("checkin_radius_m is null or checkin_radius_m > 0", name="radius_positive"),
        Index("ix_events_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    checkin_radius_m: Mapped[int | None] = mapped_column()
    geofence_mode: Mapped[str] = mapped_column(String(10), default=GeofenceMode.FLAG.value)
    description: Mapped[str] = mapped_column(Text, default="")
    #: brand / project tag: 阳光助残, 青春情暖, 暖冬行动, 益苗计划 ...
    brand_tag: Mapped[str] = mapped_column(String(40), default="", index=True)
    signup_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signup_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: volunteers may cancel up to this many hours before their shift starts
    cancel_cutoff_hours: Mapped[int] = mapped_column(default=24)
    allow_walk_ins: Mapped[bool] = mapped_column(default=False)
    #: check-in opens this many minutes before a shift starts
    checkin_opens_minutes: Mapped[int] = mapped_column(default=30)
    status: Mapped[str] = mapped_column(String(12), default=EventStatus.DRAFT.value)
    #: training courses: attending grants this credential
    grants_credential_type_id: Mapped[int | None] = mapped_column(ForeignKey("credential_types.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
    positions: Mapped[list[Position]] = relationship(
        back_populates="event", order_by="Position.id", cascade="all, delete-orphan"
    )
    grants_credential_type: Mapped[CredentialType | None] = relationship()

    @property
    def is_published(self) -> bool:
        return self.status == EventStatus.PUBLISHED.value


position_skills = Table(
    "position_skills",
    db.metadata,
    Column("position_id", ForeignKey("positions.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)

position_credentials = Table(
    "position_credentials",
    db.metadata,
    Column("position_id", ForeignKey("positions.id", ondelete="CASCADE"), primary_key=True),
    Column("credential_type_id", ForeignKey("credential_types.id", ondelete="CASCADE"), primary_key=True),
)


class Position(Model):
    """岗位: a role inside an event (引导, 翻译, 医疗急救, 咨询台 ...)."""

    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("event_id", "name"),
        CheckConstraint("min_age >= 0", name="min_age"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    min_age: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="positions")
    required_skills: Mapped[list[Skill]] = relationship(secondary=position_skills, order_by=Skill.id)
    required_credentials: Mapped[list[CredentialType]] = relationship(secondary=position_credentials)
    shifts: Mapped[list[Shift]] = relationship(
        back_populates="position", order_by="Shift.starts_at", cascade="all, delete-orphan"
    )
    quotas: Mapped[list[TeamQuota]] = relationship(back_populates="position", cascade="all, delete-orphan")


class Shift(Model):
    """班次: a position for a time window at a place, with a headcount."""

    __tablename__ = "shifts"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="time_order"),
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint("assigned_count >= 0 AND assigned_count <= capacity", name="within_capacity"),
        Index("ix_shifts_event_starts_at", "event_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: denormalized from the position, for event-wide queries
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column()
    #: live count of assigned volunteers; changed only by guarded UPDATEs
    assigned_count: Mapped[int] = mapped_column(default=0)
    meeting_point: Mapped[str] = mapped_column(String(200), default="")
    is_cancelled: Mapped[bool] = mapped_column(default=False)

    event: Mapped[Event] = relationship()
    position: Mapped[Position] = relationship(back_populates="shifts")

    @property
    def open_places(self) -> int:
        return max(self.capacity - self.assigned_count, 0)


class Assignment(Model):
    """排班: a volunteer on a shift, with its status."""

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint(
            "status in ('applied','assigned','waitlisted','cancelled','no_show','completed')", name="status"
        ),
        Index(
            "uq_assignments_live_shift_user",
            "shift_id",
            "user_id",
            unique=True,
            postgresql_where=text("status in ('assigned','waitlisted')"),
            sqlite_where=text("status in ('assigned','waitlisted')"),
        ),
        Index("ix_assignments_user_status", "user_id", "status"),
        Index("ix_assignments_shift_status", "shift_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: denormalized from the shift so overlap checks need no join
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))
    #: "self", "coordinator", "team", "walk_in"
    source: Mapped[str] = mapped_column(String(12), default="self")
    #: the team whose quota this assignment fills, if any
    quota_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    #: set when a coordinator overrode sign-up rules: which rules (comma-separated codes) and why
    override_rule: Mapped[str] = mapped_column(String(200), default="")
    override_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    shift: Mapped[Shift] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    quota_organization: Mapped[Organization | None] = relationship()


class TeamQuota(Model):
    """Organization X provides N volunteers for position Y (in each of its shifts)."""

    __tablename__ = "team_quotas"
    __table_args__ = (
        UniqueConstraint("position_id", "organization_id"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)

    position: Mapped[Position] = relationship(back_populates="quotas")
    organization: Mapped[Organization] = relationship()


class CredentialType(Model):
    """A training credential (e.g. 急救培训合格) that positions can require."""

    __tablename__ = "credential_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    #: None: never expires
    valid_days: Mapped[int | None] = mapped_column()


class Credential(Model):
    """A volunteer holds a credential from a training course, until it expires."""

    __tablename__ = "credentials"
    __table_args__ = (Index("ix_credentials_user_type", "user_id", "credential_type_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    credential_type_id: Mapped[int] = mapped_column(ForeignKey("credential_types.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))

    credential_type: Mapped[CredentialType] = relationship()
