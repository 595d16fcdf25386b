"""Attendance (签到/签退 records) and the log of every scan.

Invariants held by the database:
- a volunteer never has two open check-ins: partial unique index on attendances(user_id) WHERE status = 'open';
- a scan sent by a device is applied once: unique (device_id, client_scan_id) on scans.
An attendance is the only thing the hours ledger (hours/) reads: once it is closed
(checked out, or its time set by a coordinator) it becomes a ledger entry.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.timeutil import UTCDateTime, utcnow
from events.models import Event
from volunteers.accounts.models import User

if TYPE_CHECKING:  # events.models is imported by app.all_models; strings resolve at mapper set-up
    from events.models import Assignment, Event, Shift


class AttendanceStatus(str, enum.Enum):
    OPEN = "open"  # checked in, not yet out
    CLOSED = "closed"  # checked out (or time set by a coordinator)
    MISSING_CHECKOUT = "missing_checkout"  # still open long after the shift: credits nothing until fixed
    VOIDED = "voided"  # withdrawn by a coordinator (with a reason)


class ScanMethod(str, enum.Enum):
    KIOSK = "kiosk"  # the volunteer scanned the site's rotating QR
    BADGE = "badge"  # a coordinator scanned the volunteer's rotating badge
    MANUAL = "manual"  # a coordinator entered the mobile number, with a reason


class Attendance(Model):
    """One stay of a volunteer on a shift: check-in, check-out, where, how, and any flags."""

    __tablename__ = "attendances"
    __table_args__ = (
        CheckConstraint("status in ('open','closed','missing_checkout','voided')", name="status"),
        CheckConstraint("checked_out_at is null or checked_out_at >= checked_in_at", name="time_order"),
        Index(
            "uq_attendances_open_user",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_attendances_shift_status", "shift_id", "status"),
        Index("ix_attendances_event_status", "event_id", "status"),
        Index("ix_attendances_user_checked_in", "user_id", "checked_in_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=AttendanceStatus.OPEN.value)
    check_in_method: Mapped[str] = mapped_column(String(10))
    check_out_method: Mapped[str | None] = mapped_column(String(10))
    #: some part of it came from a device's offline queue
    offline: Mapped[bool] = mapped_column(default=False)
    #: the check-in position lay outside the event's radius (events that flag rather than refuse)
    outside_radius: Mapped[bool] = mapped_column(default=False)
    #: two devices reported this volunteer inconsistently; a coordinator must look
    conflict: Mapped[bool] = mapped_column(default=False)
    in_latitude: Mapped[float | None] = mapped_column()
    in_longitude: Mapped[float | None] = mapped_column()
    in_accuracy_m: Mapped[float | None] = mapped_column()
    out_latitude: Mapped[float | None] = mapped_column()
    out_longitude: Mapped[float | None] = mapped_column()
    out_accuracy_m: Mapped[float | None] = mapped_column()
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    checked_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: why a coordinator checked in by hand, set the check-out time, or voided it
    note: Mapped[str] = mapped_column(Text, default="")
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    event: Mapped[Event] = relationship()
    shift: Mapped[Shift] = relationship()
    assignment: Mapped[Assignment] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status == AttendanceStatus.OPEN.value

    @property
    def minutes(self) -> int | None:
        """Raw minutes between check-in and check-out (the ledger clips them to the shift)."""
        if self.checked_out_at is None:
            return None
        return int((self.checked_out_at - self.checked_in_at).total_seconds() // 60)


class Scan(Model):
    """Every scan received, applied or refused, with its original time and device."""

    __tablename__ = "scans"
    __table_args__ = (
        UniqueConstraint("device_id", "client_scan_id"),
        Index("ix_scans_event_received", "event_id", "received_at"),
        Index("ix_scans_user_scanned", "user_id", "scanned_at"),
        Index("ix_scans_token_digest", "token_digest"),
        Index("ix_scans_attendance_result", "attendance_id", "result"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    attendance_id: Mapped[int | None] = mapped_column(ForeignKey("attendances.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(10))
    #: "check_in", "check_out" or "none" (refused or a repeat that changed nothing)
    action: Mapped[str] = mapped_column(String(10), default="none")
    #: "ok", "repeat" or a refusal reason code ("token_expired", "token_forged", "no_assignment", ...)
    result: Mapped[str] = mapped_column(String(30))
    #: the scanning device and its own id for the scan: makes offline sync idempotent
    device_id: Mapped[str | None] = mapped_column(String(64))
    client_scan_id: Mapped[str | None] = mapped_column(String(64))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offline: Mapped[bool] = mapped_column(default=False)
    scanned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    #: conflicts flagged for the coordinator are resolved by a person
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a badge token's digest (its signature): a token used at one device is refused at another (replay)
    token_digest: Mapped[str | None] = mapped_column(String(32))
    #: for result "conflict": which end of the attendance it disputes ("check_in", "check_out" or "inside")
    conflict_side: Mapped[str | None] = mapped_column(String(10))
    #: a manual scan's reason, or how a conflict was resolved and why
    note: Mapped[str] = mapped_column(Text, default="")

    attendance: Mapped[Attendance | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


def attendance_event(attendance: Attendance) -> Event | None:
    """The event of an attendance: the `attendance_event` fact of app/permissions.py."""
    return db.session.get(Event, attendance.event_id)
