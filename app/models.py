"""Models shared by every area: organizations, accounts, roles, audit trail, counters."""
from __future__ import annotations

import enum
import secrets
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    JSON,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.timeutil import UTCDateTime, utcnow


class OrgKind(str, enum.Enum):
    """Levels of the league's organization tree."""

    CITY = "city"              # 团市委
    TOWN = "town"              # 镇街（园区）团委
    UNIVERSITY = "university"  # 高校团委
    ENTERPRISE = "enterprise"  # 厂局团委
    BRANCH = "branch"          # 团支部
    TEAM = "team"              # 志愿服务队 / 志愿者协会


class Organization(db.Model):
    """A node of the organization tree; `path` ("/1/7/42/") makes subtree queries one LIKE."""

    __tablename__ = "organizations"
    __table_args__ = (
        UniqueConstraint("parent_id", "name"),
        CheckConstraint(
            "kind in ('city','town','university','enterprise','branch','team')", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Chinese name as the league writes it, e.g. 共青团东莞市南城街道委员会
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str] = mapped_column(String(60), default="")
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: ids from the root to this node, e.g. "/1/7/42/"; set once the id is known
    path: Mapped[str] = mapped_column(String(255), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped["Organization | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Organization"]] = relationship(back_populates="parent")

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def is_within(self, other: "Organization") -> bool:
        """True when this organization is `other` or lies below it."""
        return bool(other.path) and self.path.startswith(other.path)

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name}>"


user_skills = Table(
    "user_skills",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)


class Skill(db.Model):
    """A skill or language a volunteer offers and a position may require."""

    __tablename__ = "skills"
    __table_args__ = (CheckConstraint("kind in ('skill','language')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(10), default="skill")


class PoliticalStatus(str, enum.Enum):
    """政治面貌."""

    MASSES = "群众"
    YOUNG_PIONEER = "少先队员"
    ACTIVIST = "入团积极分子"
    LEAGUE_MEMBER = "共青团员"
    PARTY_PROBATIONARY = "中共预备党员"
    PARTY_MEMBER = "中共党员"
    OTHER = "其他"


class User(UserMixin, db.Model):
    """A person with an account: every volunteer, coordinator, reviewer and administrator."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("sex in ('M','F')", name="sex"),
        CheckConstraint("length(mobile) = 11", name="mobile_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 志愿者编号, from the `volunteer_number` counter
    volunteer_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    #: the login name
    mobile: Mapped[str] = mapped_column(String(11), unique=True)
    #: argon2id; NULL until an imported volunteer activates the account
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: AES-GCM ciphertext of the resident ID number (see app.security)
    id_number_encrypted: Mapped[str] = mapped_column(String(255))
    #: keyed hash (HMAC-SHA256) of the ID number, for uniqueness and lookup
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: last four characters, enough to show the masked form without decrypting
    id_number_tail: Mapped[str] = mapped_column(String(4))
    id_number_head: Mapped[str] = mapped_column(String(4))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    political_status: Mapped[str] = mapped_column(String(20), default=PoliticalStatus.MASSES.value)
    #: when the volunteer became 入团积极分子 (the membership prerequisite counts from here)
    activist_since: Mapped[date | None] = mapped_column(Date)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    emergency_contact_name: Mapped[str] = mapped_column(String(50), default="")
    emergency_contact_mobile: Mapped[str] = mapped_column(String(11), default="")
    guardian_name: Mapped[str] = mapped_column(String(50), default="")
    guardian_mobile: Mapped[str] = mapped_column(String(11), default="")
    guardian_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: rotated at logout and password change: every older session stops working
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    #: "registered" (self-service), "imported" (awaiting activation)
    source: Mapped[str] = mapped_column(String(12), default="registered")
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_disabled: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str] = mapped_column(String(5), default="zh")
    #: bumped by a guarded UPDATE at the start of every sign-up, serializing a volunteer's sign-ups
    signup_serial: Mapped[int] = mapped_column(default=0)
    #: secret part of the private calendar (.ics) feed URL
    calendar_token: Mapped[str] = mapped_column(String(32), unique=True,
                                                default=lambda: secrets.token_urlsafe(16)[:22])
    #: optional address for email copies of notifications
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
    skills: Mapped[list[Skill]] = relationship(secondary=user_skills, order_by=Skill.id)
    role_grants: Mapped[list["RoleGrant"]] = relationship(
        back_populates="user", foreign_keys="RoleGrant.user_id", cascade="all, delete-orphan"
    )

    # Flask-Login: the session carries id and token, so rotating the token ends old sessions.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return not self.is_disabled and self.password_hash is not None

    @property
    def masked_id_number(self) -> str:
        return f"{self.id_number_head}{'*' * 10}{self.id_number_tail}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    def __repr__(self) -> str:
        return f"<User {self.id} {self.volunteer_number}>"


class Role(str, enum.Enum):
    """Roles granted at an organization; each holds for the whole subtree."""

    COORDINATOR = "coordinator"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class RoleGrant(db.Model):
    """A role held by a user at an organization and everything below it."""

    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint("user_id", "organization_id", "role"),
        CheckConstraint("role in ('coordinator','reviewer','admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="role_grants", foreign_keys=[user_id])
    organization: Mapped[Organization] = relationship()
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])


class AuditLog(db.Model):
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

    actor: Mapped[User | None] = relationship()


class Counter(db.Model):
    """Named counters (volunteer numbers, certificate serials) reserved by a guarded UPDATE."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
