"""River patrol (河小青): adopted river segments, their recurring patrol schedules and generated shifts.

Invariants held by the database:
- a segment's check-in distance is positive and its mode is refuse|flag;
- a schedule's weekday mask has 7 characters (Monday first, "1" = patrol that day), ends after it
  starts and needs at least one volunteer;
- generated shifts are idempotent: unique (schedule_id, local_date) on patrol_shifts, and each
  events.Shift belongs to at most one patrol (unique shift_id).
Each segment owns one river-patrol event (kind "river_patrol", organizer = the adopting team) with one
position (巡河); the generation job adds the schedule's shifts to that position.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow
from patrols.segments.geometry import haversine_m, polyline_length_m  # noqa: F401  (re-exported)
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

if TYPE_CHECKING:  # events.models is imported by app.all_models; strings resolve at mapper set-up
    from events.models import Event, Position, Shift

DEFAULT_CHECKIN_DISTANCE_M = 200


class RiverSegment(Model):
    """河段: a stretch of a river adopted by a volunteer team and led by a volunteer river chief."""

    __tablename__ = "river_segments"
    __table_args__ = (
        UniqueConstraint("river_name", "name"),
        CheckConstraint("checkin_distance_m > 0", name="distance_positive"),
        CheckConstraint("geofence_mode in ('refuse','flag')", name="geofence_mode"),
        CheckConstraint("length_m >= 0", name="length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: e.g. 东莞运河, 寒溪河
    river_name: Mapped[str] = mapped_column(String(60))
    #: e.g. 南城段（元美桥—簪花桥）
    name: Mapped[str] = mapped_column(String(80))
    #: the town/street/park committee the segment lies in
    town_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: the adopting volunteer team (an organization of kind "team")
    team_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: 志愿者河长
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: the line along the river: [[lat, lon], ...], at least start and end
    points: Mapped[list] = mapped_column(JSON)
    #: computed from the points (haversine) whenever they change
    length_m: Mapped[int] = mapped_column(default=0)
    #: check-in and check-out must lie within this distance of the line
    checkin_distance_m: Mapped[int] = mapped_column(default=DEFAULT_CHECKIN_DISTANCE_M)
    #: what happens to a scan farther away: "refuse" or "flag"
    geofence_mode: Mapped[str] = mapped_column(String(10), default="refuse")
    #: volunteers may check in to a patrol without signing up first
    allow_walk_ins: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    #: the segment's river-patrol event (one per segment), holding the generated shifts
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), unique=True)
    #: the event's single position (巡河)
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    town: Mapped[Organization] = relationship(foreign_keys=[town_id])
    team: Mapped[Organization] = relationship(foreign_keys=[team_id])
    chief: Mapped[User | None] = relationship(foreign_keys=[chief_id])
    event: Mapped[Event | None] = relationship(foreign_keys=[event_id])
    position: Mapped[Position | None] = relationship(foreign_keys=[position_id])
    schedules: Mapped[list[PatrolSchedule]] = relationship(
        back_populates="segment", order_by="PatrolSchedule.id", cascade="all, delete-orphan"
    )

    @property
    def start_point(self) -> tuple[float, float]:
        return tuple(self.points[0])

    @property
    def end_point(self) -> tuple[float, float]:
        return tuple(self.points[-1])

    def set_points(self, points: list[tuple[float, float]] | list[list[float]]) -> None:
        """Store the line and recompute its length."""
        self.points = [[float(p[0]), float(p[1])] for p in points]
        self.length_m = polyline_length_m(self.points)

    @property
    def display_name(self) -> str:
        return f"{self.river_name} · {self.name}"

    def __repr__(self) -> str:
        return f"<RiverSegment {self.id} {self.river_name} {self.name}>"


class PatrolSchedule(Model):
    """Recurring patrol duty of a segment: weekdays, local start/end time, headcount, validity."""

    __tablename__ = "patrol_schedules"
    __table_args__ = (
        CheckConstraint("length(weekdays) = 7", name="weekdays_length"),
        CheckConstraint("ends_local > starts_local", name="time_order"),
        CheckConstraint("headcount > 0", name="headcount"),
        CheckConstraint("valid_until is null or valid_until >= valid_from", name="validity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("river_segments.id", ondelete="CASCADE"), index=True)
    #: Monday first, "1" = patrol that day; "0000010" = every Saturday
    weekdays: Mapped[str] = mapped_column(String(7))
    #: local (Asia/Shanghai) wall-clock times
    starts_local: Mapped[time] = mapped_column(Time)
    ends_local: Mapped[time] = mapped_column(Time)
    headcount: Mapped[int] = mapped_column()
    valid_from: Mapped[date] = mapped_column(Date)
    #: None: open-ended
    valid_until: Mapped[date | None] = mapped_column(Date)
    meeting_point: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    segment: Mapped[RiverSegment] = relationship(back_populates="schedules")

    @property
    def weekday_numbers(self) -> list[int]:
        """Python weekday numbers (Monday = 0) the schedule patrols on."""
        return [i for i, flag in enumerate(self.weekdays) if flag == "1"]

    def runs_on(self, day: date) -> bool:
        """True when the schedule patrols on this local date."""
        if not self.is_active or day < self.valid_from:
            return False
        if self.valid_until is not None and day > self.valid_until:
            return False
        return self.weekdays[day.weekday()] == "1"


class PatrolShift(Model):
    """Links a generated events.Shift to the segment and schedule (and local date) it was made for."""

    __tablename__ = "patrol_shifts"
    __table_args__ = (
        UniqueConstraint("schedule_id", "local_date"),
        Index("ix_patrol_shifts_segment_date", "segment_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"), unique=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("river_segments.id", ondelete="CASCADE"))
    #: None once the schedule is deleted (the shift, and whoever signed up, stays)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_schedules.id", ondelete="SET NULL"))
    #: the patrol's day in Asia/Shanghai
    local_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shift: Mapped[Shift] = relationship()
    segment: Mapped[RiverSegment] = relationship()
    schedule: Mapped[PatrolSchedule | None] = relationship()
