"""The snapshot: everything the rules need about one scan, read in one statement, the volunteer's row locked.

One SELECT on a one-row base joins the event and the volunteer and carries, as JSON arrays of rows, the
volunteer's attendances that matter (at this event, or open anywhere; not voided), their assignments on the
event's open shifts, the device's earlier scan with this client id, the devices that accepted this badge token,
and (events that allow walk-ins) the event's shifts. A river-patrol event adds its segment's fence
(checkin.engine.geofence), asked of its provider.

The lock is the one every sign-up and correction of the volunteer takes (`UPDATE users SET signup_serial =
signup_serial + 1`, events.signup.places.lock_volunteer): on PostgreSQL it is a data-modifying CTE of the same
statement (one round trip). That statement reads one snapshot, taken before its lock was granted: when the
locked row's serial is not the snapshot's plus one, another transaction changed the volunteer meanwhile and the
SELECT is read again, now under the lock (a second round trip, only when two scans of one volunteer meet). On
SQLite (embedded, no round trips) the lock is its own statement before the SELECT, which then reads the newest
data: a writer there always works on the newest snapshot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Update,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from checkin.engine.geofence import Fence, fence_for
from checkin.engine.request import ScanRequest

ASSIGNED, COMPLETED = "assigned", "completed"
#: scan results that were accepted (a token seen in one of them counts as used)
ACCEPTED = ("ok", "repeat", "conflict")


class json_rows(FunctionElement[Any]):
    """An aggregate: the group's rows as a JSON array of arrays (json_agg / json_group_array)."""

    name = "json_rows"
    inherit_cache = True


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"COALESCE(json_agg(json_build_array({compiler.process(element.clauses, **kw)})), '[]')"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


# -- the rows the rules read ------------------------------------------------------------------------


@dataclass(frozen=True)
class VolunteerRow:
    id: int
    name: str
    volunteer_number: str | None
    is_disabled: bool


@dataclass(frozen=True)
class EventRow:
    id: int
    title: str
    status: str
    kind: str
    allow_walk_ins: bool
    checkin_opens_minutes: int | None
    latitude: float | None
    longitude: float | None
    checkin_radius_m: int | None
    geofence_mode: str
    grants_credential: bool


@dataclass(frozen=True)
class ShiftRow:
    id: int
    starts_at: datetime
    ends_at: datetime
    position_name: str


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    status: str
    shift: ShiftRow


@dataclass(frozen=True)
class AttendanceRow:
    id: int
    event_id: int
    event_title: str
    assignment_id: int
    status: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    offline: bool
    outside_radius: bool
    conflict: bool
    #: the device of its check-in's and its check-out's scan (None: set by hand); read for offline scans only
    in_device: str | None
    out_device: str | None
    shift: ShiftRow


@dataclass(frozen=True)
class LoggedScan:
    """A row of the scan log: a device's earlier scan with the same client id, answered again when re-sent."""

    id: int
    action: str
    result: str
    scanned_at: datetime
    offline: bool
    event_id: int | None
    volunteer: VolunteerRow | None
    attendance: AttendanceRow | None


@dataclass(frozen=True)
class Snapshot:
    volunteer: VolunteerRow | None
    event: EventRow | None
    previous: LoggedScan | None
    token_devices: frozenset[str]
    attendances: tuple[AttendanceRow, ...]  # latest check-in first
    assignments: tuple[AssignmentRow, ...]  # earliest shift first
    walk_in_shifts: tuple[ShiftRow, ...]  # events that allow walk-ins: their shifts (the kiosk's one), earliest first
    kiosk_shift_event_id: int | None  # a shift's kiosk: the event that shift belongs to
    fence: Fence | None


# -- the statement ----------------------------------------------------------------------------------


def _tables() -> dict[str, Table]:
    tables = db.metadata.tables
    return {name: tables[name] for name in ("users", "events", "shifts", "positions", "assignments", "attendances")}


def _scans() -> Table:
    return db.metadata.tables["scans"]


def _device_key(scans: Any) -> ColumnElement[str]:
    return func.coalesce(scans.c.device_id, literal("by:") + cast(scans.c.scanned_by_id, String))


def _attendance_columns(
    attendance: Any, shift: Any, position: Any, event: Any, shape: Shape
) -> list[ColumnElement[Any]]:
    """An attendance's columns (joined with its shift, position and event) as _attendance reads them."""

    def device(action: str) -> ColumnElement[Any]:
        if not shape.offline:  # only an offline scan's conflict asks which device made an attendance
            return null()
        scans = _scans().alias()
        return (
            select(_device_key(scans))
            .where(scans.c.attendance_id == attendance.c.id, scans.c.action == action, scans.c.result == "ok")
            .order_by(scans.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    return [
        attendance.c.id,
        attendance.c.event_id,
        event.c.title,
        attendance.c.assignment_id,
        attendance.c.status,
        attendance.c.checked_in_at,
        attendance.c.checked_out_at,
        attendance.c.offline,
        attendance.c.outside_radius,
        attendance.c.conflict,
        device("check_in"),
        device("check_out"),
        shift.c.id,
        shift.c.starts_at,
        shift.c.ends_at,
        position.c.name,
    ]


def _attendance_joins(attendance: Any, shift: Any, position: Any, event: Any, *, outer: bool) -> Any:
    join = "outerjoin" if outer else "join"

    def step(left: Any, right: Any, on: Any) -> Any:
        return getattr(left, join)(right, on)

    joined = step(attendance, shift, shift.c.id == attendance.c.shift_id)
    joined = step(joined, position, position.c.id == shift.c.position_id)
    return step(joined, event, event.c.id == attendance.c.event_id)


@dataclass(frozen=True, slots=True)
class Shape:
    """What a scan's snapshot statement holds: one statement is built per shape, its values bound."""

    volunteer: bool
    event: bool
    previous: bool
    token: bool
    shift: bool
    offline: bool
    lock: bool

    @classmethod
    def of(cls, request: ScanRequest, *, lock: bool) -> Shape:
        return cls(
            volunteer=request.volunteer_id is not None,
            event=request.event_id is not None,
            previous=bool(request.device_id and request.client_scan_id),
            token=bool(request.token_digest),
            shift=request.shift_id is not None,
            offline=request.offline,
            lock=lock,
        )


def _parameters(request: ScanRequest) -> dict[str, Any]:
    return {
        "volunteer_id": request.volunteer_id,
        "event_id": request.event_id,
        "device_id": request.device_id,
        "client_scan_id": request.client_scan_id,
        "token_digest": request.token_digest,
        "shift_id": request.shift_id,
    }


@cache
def _statement(shape: Shape) -> Select[Any]:
    """The snapshot SELECT of a shape, built once (building it costs more than running it), values bound."""
    t = _tables()
    users, events = t["users"], t["events"]
    volunteer, event = users.alias("v"), events.alias("e")
    volunteer_id: Any = bindparam("volunteer_id", type_=Integer)
    event_id: Any = bindparam("event_id", type_=Integer)
    shift_id: Any = bindparam("shift_id", type_=Integer)

    attendance, at_shift, at_position, at_event = (
        t["attendances"].alias("a"),
        t["shifts"].alias("as"),
        t["positions"].alias("ap"),
        t["events"].alias("ae"),
    )
    attendances = (
        select(json_rows(*_attendance_columns(attendance, at_shift, at_position, at_event, shape)))
        .select_from(_attendance_joins(attendance, at_shift, at_position, at_event, outer=False))
        .where(
            attendance.c.user_id == volunteer_id,
            attendance.c.status != "voided",
            or_(attendance.c.event_id == event_id, attendance.c.status == "open"),
        )
        .scalar_subquery()
    )
    assignment, shift, position = t["assignments"].alias("g"), t["shifts"].alias("s"), t["positions"].alias("p")
    assignments = (
        select(
            json_rows(
                assignment.c.id, assignment.c.status, shift.c.id, shift.c.starts_at, shift.c.ends_at, position.c.name
            )
        )
        .select_from(
            assignment.join(shift, shift.c.id == assignment.c.shift_id).join(
                position, position.c.id == shift.c.position_id
            )
        )
        .where(
            assignment.c.user_id == volunteer_id,
            shift.c.event_id == event_id,
            assignment.c.status.in_((ASSIGNED, COMPLETED)),
            shift.c.is_cancelled.is_(False),
        )
        .scalar_subquery()
    )
    columns: list[Any] = [
        event.c.id,
        event.c.title,
        event.c.status,
        event.c.kind,
        event.c.allow_walk_ins,
        event.c.checkin_opens_minutes,
        event.c.latitude,
        event.c.longitude,
        event.c.checkin_radius_m,
        event.c.geofence_mode,
        event.c.grants_credential_type_id.is_not(None),
        volunteer.c.id,
        volunteer.c.name,
        volunteer.c.volunteer_number,
        volunteer.c.is_disabled,
        volunteer.c.signup_serial,
        attendances if shape.volunteer else null(),
        assignments if shape.volunteer and shape.event else null(),
        _previous(shape),
        _token_devices(shape, volunteer_id),
        _walk_in_shifts(shape, event_id, shift_id),
        select(t["shifts"].c.event_id).where(t["shifts"].c.id == shift_id).scalar_subquery() if shape.shift else null(),
    ]
    base = select(literal(1).label("one")).subquery("base")
    source = base.outerjoin(event, event.c.id == event_id).outerjoin(volunteer, volunteer.c.id == volunteer_id)
    if shape.lock:
        locked = _lock(users.c.id == volunteer_id).returning(users.c.signup_serial).cte("locked")
        source = source.outerjoin(locked, true())
        columns.append(locked.c.signup_serial)
    else:
        columns.append(null())
    return select(*columns).select_from(source)


def _previous(shape: Shape) -> Any:
    if not shape.previous:
        return null()
    scans, t = _scans().alias("x"), _tables()
    attendance, users = t["attendances"].alias("xa"), t["users"].alias("xu")
    shift, position, event = t["shifts"].alias("xs"), t["positions"].alias("xp"), t["events"].alias("xe")
    return (
        select(
            json_rows(
                scans.c.id,
                scans.c.action,
                scans.c.result,
                scans.c.scanned_at,
                scans.c.offline,
                scans.c.event_id,
                users.c.id,
                users.c.name,
                users.c.volunteer_number,
                users.c.is_disabled,
                *_attendance_columns(attendance, shift, position, event, shape),
            )
        )
        .select_from(
            scans.outerjoin(users, users.c.id == scans.c.user_id).outerjoin(
                _attendance_joins(attendance, shift, position, event, outer=True),
                attendance.c.id == scans.c.attendance_id,
            )
        )
        .where(
            scans.c.device_id == bindparam("device_id", type_=String),
            scans.c.client_scan_id == bindparam("client_scan_id", type_=String),
        )
        .scalar_subquery()
    )


def _token_devices(shape: Shape, volunteer_id: Any) -> Any:
    if not shape.token:
        return null()
    scans = _scans().alias("k")
    return (
        select(json_rows(_device_key(scans)))
        .where(
            scans.c.token_digest == bindparam("token_digest", type_=String),
            scans.c.user_id == volunteer_id,
            scans.c.result.in_(ACCEPTED),
        )
        .scalar_subquery()
    )


def _walk_in_shifts(shape: Shape, event_id: Any, shift_id: Any) -> Any:
    if not shape.event:
        return null()
    t = _tables()
    shift, position, events = t["shifts"].alias("w"), t["positions"].alias("wp"), t["events"].alias("we")
    statement = (
        select(json_rows(shift.c.id, shift.c.starts_at, shift.c.ends_at, position.c.name))
        .select_from(shift.join(position, position.c.id == shift.c.position_id))
        .where(
            shift.c.event_id == event_id,
            shift.c.is_cancelled.is_(False),
            exists().where(events.c.id == event_id, events.c.allow_walk_ins.is_(True)),
        )
    )
    if shape.shift:
        statement = statement.where(shift.c.id == shift_id)
    return statement.scalar_subquery()


# -- reading it -----------------------------------------------------------------------------------


def _rows(value: Any) -> list[list[Any]]:
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else value


def _time(value: Any) -> datetime:
    """A stored time from JSON ("2026-12-07T09:00:00" on PostgreSQL, "2026-12-07 09:00:00.000000" on SQLite)."""
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _maybe_time(value: Any) -> datetime | None:
    return None if value is None else _time(value)


def _shift(values: list[Any]) -> ShiftRow:
    shift_id, starts, ends, name = values
    return ShiftRow(int(shift_id), _time(starts), _time(ends), name or "")


def _attendance(values: list[Any]) -> AttendanceRow:
    return AttendanceRow(
        id=int(values[0]),
        event_id=int(values[1]),
        event_title=values[2] or "",
        assignment_id=int(values[3]),
        status=values[4],
        checked_in_at=_time(values[5]),
        checked_out_at=_maybe_time(values[6]),
        offline=bool(values[7]),
        outside_radius=bool(values[8]),
        conflict=bool(values[9]),
        in_device=values[10],
        out_device=values[11],
        shift=_shift(values[12:16]),
    )


def _logged(values: list[Any]) -> LoggedScan:
    volunteer = VolunteerRow(int(values[6]), values[7], values[8], bool(values[9])) if values[6] is not None else None
    return LoggedScan(
        id=int(values[0]),
        action=values[1],
        result=values[2],
        scanned_at=_time(values[3]),
        offline=bool(values[4]),
        event_id=values[5],
        volunteer=volunteer,
        attendance=_attendance(values[10:]) if values[10] is not None else None,
    )


def _snapshot(row: Any) -> Snapshot:
    values = list(row)
    event = (
        EventRow(
            id=values[0],
            title=values[1],
            status=values[2],
            kind=values[3],
            allow_walk_ins=bool(values[4]),
            checkin_opens_minutes=values[5],
            latitude=values[6],
            longitude=values[7],
            checkin_radius_m=values[8],
            geofence_mode=values[9],
            grants_credential=bool(values[10]),
        )
        if values[0] is not None
        else None
    )
    volunteer = VolunteerRow(values[11], values[12], values[13], bool(values[14])) if values[11] is not None else None
    attendances = sorted(
        (_attendance(item) for item in _rows(values[16])), key=lambda a: (a.checked_in_at, a.id), reverse=True
    )
    assignments = sorted(
        (AssignmentRow(int(item[0]), item[1], _shift(item[2:6])) for item in _rows(values[17])),
        key=lambda a: (a.shift.starts_at, a.shift.id, a.id),
    )
    previous = [_logged(item) for item in _rows(values[18])]
    walk_ins = sorted((_shift(item) for item in _rows(values[20])), key=lambda s: (s.starts_at, s.id))
    return Snapshot(
        volunteer=volunteer,
        event=event,
        previous=previous[0] if previous else None,
        token_devices=frozenset(item[0] for item in _rows(values[19])),
        attendances=tuple(attendances),
        assignments=tuple(assignments),
        walk_in_shifts=tuple(walk_ins),
        kiosk_shift_event_id=values[21],
        fence=fence_for(event.id, event.kind) if event is not None else None,
    )


def _lock(which: ColumnElement[bool]) -> Update:
    """The lock of these volunteers' rows: the signup_serial bump of events.signup.places.lock_volunteer (a lock,
    not a change: updated_at stays)."""
    users = _tables()["users"]
    return update(users).where(which).values(signup_serial=users.c.signup_serial + 1, updated_at=users.c.updated_at)


def lock_volunteers(volunteer_ids: list[int]) -> None:
    """Take several volunteers' rows at once, in id order (an offline batch: two devices cannot deadlock)."""
    if not volunteer_ids:
        return
    users = _tables()["users"]
    ordered = (
        select(users.c.id).where(users.c.id.in_(volunteer_ids)).order_by(users.c.id).with_for_update(key_share=True)
    )
    db.session.execute(_lock(users.c.id.in_(ordered.scalar_subquery())))


def read_snapshot(request: ScanRequest) -> Snapshot:
    """The snapshot of this scan, the volunteer's row locked until the transaction ends (see the module)."""
    lock = request.volunteer_id is not None and not request.locked
    session = db.session
    if lock and session.get_bind().dialect.name != "postgresql":
        session.execute(_lock(_tables()["users"].c.id == request.volunteer_id))
        lock = False
    parameters = _parameters(request)
    row = session.execute(_statement(Shape.of(request, lock=lock)), parameters).one()
    locked_serial, seen_serial = row[-1], row[15]
    if lock and locked_serial is not None and locked_serial != (seen_serial or 0) + 1:
        # changed meanwhile: read it again under the lock
        row = session.execute(_statement(Shape.of(request, lock=False)), parameters).one()
    return _snapshot(row)
