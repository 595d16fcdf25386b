"""The roster of an event (or one day / one position): an .xlsx export and a printable sign-in sheet.

The export streams rows from the database into a write-only workbook (through the spreadsheet
writer, which keeps typed-in text as text), so thousands of rows never sit in memory as ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import Select, select

from app.extensions import db
from app.spreadsheets import Spreadsheet
from app.timeutil import local_day_range, to_local
from events.models import Assignment, AssignmentStatus, Event, Position, Shift
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

#: the sheet's columns, as the league's offices write them
ROSTER_HEADERS = ("岗位", "班次日期", "开始", "结束", "集合地点", "姓名", "志愿者编号", "手机号", "所属组织", "状态")
#: statuses written in the roster (cancelled places are not part of it)
ROSTER_STATUSES = (
    AssignmentStatus.ASSIGNED.value,
    AssignmentStatus.WAITLISTED.value,
    AssignmentStatus.APPLIED.value,
    AssignmentStatus.NO_SHOW.value,
    AssignmentStatus.COMPLETED.value,
)
#: the sheet is in Chinese throughout, like its headers
STATUS_LABELS_ZH = {
    AssignmentStatus.APPLIED.value: "已申请",
    AssignmentStatus.ASSIGNED.value: "已排班",
    AssignmentStatus.WAITLISTED.value: "候补",
    AssignmentStatus.CANCELLED.value: "已取消",
    AssignmentStatus.NO_SHOW.value: "缺席",
    AssignmentStatus.COMPLETED.value: "已完成",
}
#: who is expected on site and signs the sheet
SIGN_IN_STATUSES = (AssignmentStatus.ASSIGNED.value, AssignmentStatus.COMPLETED.value)
STREAM_BATCH = 500


def _roster_query(event: Event, statuses: Iterable[str], *, day: date | None, position_id: int | None) -> Select[Any]:
    stmt = (
        select(
            Shift.id,
            Position.name,
            Shift.starts_at,
            Shift.ends_at,
            Shift.meeting_point,
            User.name,
            User.volunteer_number,
            User.mobile,
            Organization.name,
            Assignment.status,
        )
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Position, Position.id == Shift.position_id)
        .join(User, User.id == Assignment.user_id)
        .join(Organization, Organization.id == User.organization_id)
        .where(Shift.event_id == event.id, Assignment.status.in_(statuses))
        .order_by(Shift.starts_at, Position.id, Shift.id, Assignment.status, User.name, User.id)
    )
    if day is not None:
        start, end = local_day_range(day)
        stmt = stmt.where(Shift.starts_at >= start, Shift.starts_at < end)
    if position_id is not None:
        stmt = stmt.where(Shift.position_id == position_id)
    return stmt


def roster_rows(event: Event, *, day: date | None = None, position_id: int | None = None) -> Iterator[tuple]:
    """Rows of the roster in sheet order, fetched from the database in batches."""
    stmt = _roster_query(event, ROSTER_STATUSES, day=day, position_id=position_id)
    for row in db.session.execute(stmt.execution_options(yield_per=STREAM_BATCH)):
        _sid, position, starts, ends, meeting_point, name, number, mobile, org, status = row
        local_start, local_end = to_local(starts), to_local(ends)
        yield (
            position,
            local_start.date(),
            local_start.strftime("%H:%M"),
            local_end.strftime("%H:%M"),
            meeting_point,
            name,
            number,
            mobile,
            org,
            STATUS_LABELS_ZH.get(status, status),
        )


def write_roster(event: Event, *, day: date | None = None, position_id: int | None = None) -> IO[bytes]:
    """The roster as an .xlsx file (write-only workbook, spooled to disk when large), rewound."""
    spreadsheet = Spreadsheet()
    sheet = spreadsheet.add_sheet("排班表", header=ROSTER_HEADERS, widths={"A": 16, "E": 24, "I": 28})
    sheet.extend(roster_rows(event, day=day, position_id=position_id))
    return spreadsheet.to_stream(spool_over=8 * 1024 * 1024)  # the response streams and closes it


def file_chunks(data: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    """The file's bytes in chunks for a streamed response; the file is closed at the end."""
    try:
        while chunk := data.read(size):
            yield chunk
    finally:
        data.close()


def roster_filename(event: Event, *, day: date | None = None, position_id: int | None = None) -> str:
    """A download name such as roster-12-2026-05-01-position-3.xlsx."""
    parts = ["roster", str(event.id)]
    if day is not None:
        parts.append(day.isoformat())
    if position_id is not None:
        parts.append(f"position-{position_id}")
    return "-".join(parts) + ".xlsx"


def mask_mobile(mobile: str) -> str:
    """138****5678: enough to tell people apart on a sheet that hangs at the site."""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) == 11 else mobile


@dataclass
class SheetShift:
    """One shift of the sign-in sheet with the volunteers expected."""

    position: str
    starts_at: datetime
    ends_at: datetime
    meeting_point: str
    volunteers: list[tuple[str, str, str, str]] = field(default_factory=list)


def sign_in_sheet(event: Event, *, day: date | None = None, position_id: int | None = None) -> list[SheetShift]:
    """Shifts with their assigned volunteers (name, number, masked mobile, organization), for printing."""
    sheets: dict[int, SheetShift] = {}
    shifts = (
        select(Shift.id, Position.name, Shift.starts_at, Shift.ends_at, Shift.meeting_point)
        .join(Position, Position.id == Shift.position_id)
        .where(Shift.event_id == event.id, Shift.is_cancelled.is_(False))
    )
    if day is not None:
        start, end = local_day_range(day)
        shifts = shifts.where(Shift.starts_at >= start, Shift.starts_at < end)
    if position_id is not None:
        shifts = shifts.where(Shift.position_id == position_id)
    for sid, position, starts, ends, meeting_point in db.session.execute(
        shifts.order_by(Shift.starts_at, Position.id, Shift.id)
    ):
        sheets[sid] = SheetShift(position, starts, ends, meeting_point)
    stmt = _roster_query(event, SIGN_IN_STATUSES, day=day, position_id=position_id)
    for sid, _position, _s, _e, _m, name, number, mobile, org, _status in db.session.execute(stmt):
        if sid in sheets:
            sheets[sid].volunteers.append((name, number, mask_mobile(mobile), org))
    return [sheet for sheet in sheets.values() if sheet.volunteers]
