"""The decision's change and its scan-log row, as SQLAlchemy Core statements (no ORM objects on the scan path).

On PostgreSQL a check-in (the attendance and its scan) and a check-out (the attendance closed, its assignment
completed, the scan) are each one statement of data-modifying CTEs: one round trip. SQLite has no
data-modifying CTEs; there they are two and three statements, in the same order. Each function returns the new
scan row's id; the unique indexes (one open attendance per volunteer, one scan per device and client id) raise
IntegrityError, which checkin.engine.apply handles.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Boolean, Insert, Integer, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db, rowcount
from checkin import metrics
from checkin.engine.request import ScanRequest
from checkin.engine.snapshot import AttendanceRow


def _table(name: str) -> Table:
    return db.metadata.tables[name]


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _scan_values(request: ScanRequest, *, action: str, result: str, **extra: Any) -> dict[str, Any]:
    position = request.position
    return {
        "event_id": request.event_id,
        "user_id": request.volunteer_id,
        "method": request.method,
        "action": action,
        "result": result,
        "device_id": request.device_id,
        "client_scan_id": request.client_scan_id,
        "scanned_at": request.at,
        "received_at": request.now,
        "offline": request.offline,
        "scanned_by_id": request.by_id,
        "latitude": position.latitude if position else None,
        "longitude": position.longitude if position else None,
        "token_digest": request.token_digest,
        "note": request.note[:500],
        "attendance_id": None,
        "conflict_side": None,
        **extra,
    }


def _counted(request: ScanRequest, action: str, result: str) -> None:
    metrics.remember_scan(db.session(), request.method, action, result)


def log_scan(request: ScanRequest, *, action: str, result: str, **extra: Any) -> int:
    """One scan-log row (a repeat, a refusal); returns its id."""
    scan_id = db.session.execute(
        insert(_table("scans"))
        .values(_scan_values(request, action=action, result=result, **extra))
        .returning(_table("scans").c.id)
    ).scalar_one()
    _counted(request, action, result)
    return int(scan_id)


def log_refusal(request: ScanRequest, code: str) -> int | None:
    """A refusal's scan-log row; None when the same (device, client id) was logged meanwhile (the first one
    stays: INSERT ... ON CONFLICT DO NOTHING, so no savepoint is needed)."""
    scans = _table("scans")
    dialect_insert = postgresql.insert if _postgresql() else sqlite.insert
    statement = (
        dialect_insert(scans)
        .values(_scan_values(request, action="none", result=code))
        .on_conflict_do_nothing(index_elements=[scans.c.device_id, scans.c.client_scan_id])
        .returning(scans.c.id)
    )
    scan_id = db.session.execute(statement).scalar()
    if scan_id is None:
        return None
    _counted(request, "none", code)
    return int(scan_id)


def _bound(table: Table, names: Any, prefix: str) -> dict[str, Any]:
    """Bind parameters for these columns of a table, named prefix + column."""
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in names}


_SCAN_COLUMNS = (
    "event_id",
    "user_id",
    "method",
    "action",
    "result",
    "device_id",
    "client_scan_id",
    "scanned_at",
    "received_at",
    "offline",
    "scanned_by_id",
    "latitude",
    "longitude",
    "token_digest",
    "note",
    "conflict_side",
)
_ATTENDANCE_COLUMNS = (
    "user_id",
    "event_id",
    "shift_id",
    "assignment_id",
    "checked_in_at",
    "status",
    "check_in_method",
    "offline",
    "outside_radius",
    "conflict",
    "in_latitude",
    "in_longitude",
    "in_accuracy_m",
    "checked_in_by_id",
    "note",
    "created_at",
    "updated_at",
)


@lru_cache(maxsize=1)
def _check_in_statement() -> Insert:
    """PostgreSQL: the attendance and its scan in one statement, built once (values bound: a_*, s_*)."""
    attendances, scans = _table("attendances"), _table("scans")
    made = (
        insert(attendances)
        .values(_bound(attendances, _ATTENDANCE_COLUMNS, "a_"))
        .returning(attendances.c.id)
        .cte("made")
    )
    bound = _bound(scans, _SCAN_COLUMNS, "s_")
    return (
        insert(scans)
        .from_select([*_SCAN_COLUMNS, "attendance_id"], select(*bound.values(), made.c.id))
        .returning(scans.c.attendance_id, scans.c.id)
    )


@lru_cache(maxsize=1)
def _check_out_statement() -> Insert:
    """PostgreSQL: the attendance closed, its assignment completed and the scan logged in one statement, built
    once (values bound: c_*, s_*); no row when the attendance was no longer open."""
    attendances, assignments, scans = _table("attendances"), _table("assignments"), _table("scans")
    closed = (
        update(attendances)
        .where(attendances.c.id == bindparam("c_attendance_id", type_=Integer), attendances.c.status == "open")
        .values(
            status="closed",
            checked_out_at=bindparam("c_at", type_=attendances.c.checked_out_at.type),
            check_out_method=bindparam("c_method", type_=attendances.c.check_out_method.type),
            checked_out_by_id=bindparam("c_by_id", type_=Integer),
            offline=bindparam("c_offline", type_=Boolean),
            out_latitude=bindparam("c_latitude", type_=attendances.c.out_latitude.type),
            out_longitude=bindparam("c_longitude", type_=attendances.c.out_longitude.type),
            out_accuracy_m=bindparam("c_accuracy_m", type_=attendances.c.out_accuracy_m.type),
            updated_at=bindparam("c_now", type_=attendances.c.updated_at.type),
            outside_radius=attendances.c.outside_radius | bindparam("c_outside", type_=Boolean),
        )
        .returning(attendances.c.id)
        .cte("closed")
    )
    completed = (
        update(assignments)
        .where(
            assignments.c.id == bindparam("c_assignment_id", type_=Integer),
            assignments.c.status == "assigned",
            select(closed.c.id).exists(),
        )
        .values(status="completed", updated_at=bindparam("c_now", type_=assignments.c.updated_at.type))
        .returning(assignments.c.id)
        .cte("completed")
    )
    bound = _bound(scans, [*_SCAN_COLUMNS, "attendance_id"], "s_")
    return (
        insert(scans)
        .from_select([*_SCAN_COLUMNS, "attendance_id"], select(*bound.values()).select_from(closed))
        .returning(scans.c.id)
        .add_cte(completed)  # data-modifying: runs though nothing reads it
    )


def check_in(request: ScanRequest, *, assignment_id: int, shift_id: int, outside: bool) -> tuple[int, int]:
    """A new open attendance and its scan; returns (attendance id, scan id)."""
    attendances, scans = _table("attendances"), _table("scans")
    position = request.position
    values = {
        "user_id": request.volunteer_id,
        "event_id": request.event_id,
        "shift_id": shift_id,
        "assignment_id": assignment_id,
        "checked_in_at": request.at,
        "status": "open",
        "check_in_method": request.method,
        "offline": request.offline,
        "outside_radius": outside,
        "conflict": False,
        "in_latitude": position.latitude if position else None,
        "in_longitude": position.longitude if position else None,
        "in_accuracy_m": position.accuracy_m if position else None,
        "checked_in_by_id": request.by_id,
        "note": request.note,
        "created_at": request.now,
        "updated_at": request.now,
    }
    scan = _scan_values(request, action="check_in", result="ok")
    if _postgresql():
        parameters = {f"a_{name}": value for name, value in values.items()}
        parameters.update({f"s_{name}": value for name, value in scan.items() if name != "attendance_id"})
        attendance_id, scan_id = db.session.execute(_check_in_statement(), parameters).one()
    else:
        attendance_id = db.session.execute(insert(attendances).values(values).returning(attendances.c.id)).scalar_one()
        scan_id = db.session.execute(
            insert(scans).values({**scan, "attendance_id": attendance_id}).returning(scans.c.id)
        ).scalar_one()
    _counted(request, "check_in", "ok")
    return int(attendance_id), int(scan_id)


def check_out(request: ScanRequest, attendance: AttendanceRow, *, outside: bool) -> int | None:
    """Close the open attendance, complete its assignment (assigned -> completed) and log the scan; returns the
    scan's id, or None when the attendance was no longer open (the forgotten-check-out job marked it meanwhile)."""
    attendances, assignments, scans = _table("attendances"), _table("assignments"), _table("scans")
    position = request.position
    scan = _scan_values(request, action="check_out", result="ok", attendance_id=attendance.id)
    if _postgresql():
        parameters = {
            "c_attendance_id": attendance.id,
            "c_assignment_id": attendance.assignment_id,
            "c_at": request.at,
            "c_method": request.method,
            "c_by_id": request.by_id,
            "c_offline": attendance.offline or request.offline,
            "c_latitude": position.latitude if position else None,
            "c_longitude": position.longitude if position else None,
            "c_accuracy_m": position.accuracy_m if position else None,
            "c_now": request.now,
            "c_outside": outside,
            **{f"s_{name}": value for name, value in scan.items()},
        }
        scan_id = db.session.execute(_check_out_statement(), parameters).scalar()
        if scan_id is None:
            return None
    else:  # SQLite: no data-modifying CTEs, the same steps one by one
        close = (
            update(attendances)
            .where(attendances.c.id == attendance.id, attendances.c.status == "open")
            .values(
                status="closed",
                checked_out_at=request.at,
                check_out_method=request.method,
                checked_out_by_id=request.by_id,
                offline=attendance.offline or request.offline,
                out_latitude=position.latitude if position else None,
                out_longitude=position.longitude if position else None,
                out_accuracy_m=position.accuracy_m if position else None,
                updated_at=request.now,
                **({"outside_radius": True} if outside else {}),
            )
        )
        complete = (
            update(assignments)
            .where(assignments.c.id == attendance.assignment_id, assignments.c.status == "assigned")
            .values(status="completed", updated_at=request.now)
        )
        if rowcount(db.session.execute(close)) != 1:
            return None
        db.session.execute(complete)
        scan_id = db.session.execute(insert(scans).values(scan).returning(scans.c.id)).scalar_one()
    _counted(request, "check_out", "ok")
    return int(scan_id)


def conflict(request: ScanRequest, attendance: AttendanceRow, *, side: str) -> int:
    """Flag the attendance for the coordinator and log the scan as a conflict (never counted twice)."""
    attendances = _table("attendances")
    db.session.execute(
        update(attendances).where(attendances.c.id == attendance.id).values(conflict=True, updated_at=request.now)
    )
    return log_scan(request, action="none", result="conflict", attendance_id=attendance.id, conflict_side=side)
