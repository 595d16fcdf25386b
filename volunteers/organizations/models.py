"""The organization tree and the roles held at its nodes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from volunteers.accounts.models import User


class OrgKind(str, enum.Enum):
    """Levels of the league's organization tree."""

    CITY = "city"  # 团市委
    TOWN = "town"  # 镇街（园区）团委
    UNIVERSITY = "university"  # 高校团委
    ENTERPRISE = "enterprise"  # 厂局团委
    BRANCH = "branch"  # 团支部
    TEAM = "team"  # 志愿服务队 / 志愿者协会


class Organization(Model):
    """A node of the organization tree; `path` ("/1/7/42/") makes subtree queries one LIKE."""

    __tablename__ = "organizations"
    __table_args__ = (
        UniqueConstraint("parent_id", "name"),
        CheckConstraint("kind in ('city','town','university','enterprise','branch','team')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Chinese name as the league writes it, e.g. 共青团东莞市南城街道委员会
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str] = mapped_column(String(60), default="")
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: ids from the root to this node, e.g. "/1/7/42/"; set once the id is known
    path: Mapped[str] = mapped_column(String(255), default="", index=True)
    #: the league's own code for the organization (组织代码), unique when given; imports match on it
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: closed (撤销/合并): kept for the history and old records, offered nowhere for new ones
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parent: Mapped[Organization | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Organization]] = relationship(back_populates="parent")

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def is_within(self, other: Organization) -> bool:
        """True when this organization is `other` or lies below it."""
        return bool(other.path) and self.path.startswith(other.path)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name}>"


class RoleGrant(Model):
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
