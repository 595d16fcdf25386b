"""Accounts: every volunteer, coordinator, reviewer and administrator, with their skills."""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.timeutil import UTCDateTime, utcnow
from volunteers.organizations.models import Organization

if TYPE_CHECKING:
    from volunteers.organizations.models import RoleGrant


user_skills = Table(
    "user_skills",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)


class Skill(Model):
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


class User(UserMixin, Model):
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
    #: registered online, the SMS code that proves the mobile number not entered yet: no login until it is
    awaiting_mobile_code: Mapped[bool] = mapped_column(default=False)
    is_disabled: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str] = mapped_column(String(5), default="zh")
    #: bumped by a guarded UPDATE at the start of every sign-up, serializing a volunteer's sign-ups
    signup_serial: Mapped[int] = mapped_column(default=0)
    #: secret part of the private calendar (.ics) feed URL
    calendar_token: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: secrets.token_urlsafe(16)[:22])
    #: optional address for email copies of notifications
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
    skills: Mapped[list[Skill]] = relationship(secondary=user_skills, order_by=Skill.id)
    role_grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", foreign_keys="RoleGrant.user_id", cascade="all, delete-orphan"
    )

    # Flask-Login: the session carries id and token, so rotating the token ends old sessions.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return not self.is_disabled and self.password_hash is not None and not self.awaiting_mobile_code

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
