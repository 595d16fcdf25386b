"""The decision's change and its scan-log row, as SQLAlchemy Core statements (no ORM objects on the scan path).

On PostgreSQL a check-in (the attendance and its scan) and a check-out (the attendance closed, its assignment
completed, the scan) are each one statement of data-modifying CTEs: one round trip. SQLite has no
data-modifying CTEs; there they are two and three statements, in the same order. Each function returns the new
scan row's id; the unique indexes (one open attendance per volunteer, one scan per device and client id) raise
IntegrityError, which checkin.engine.apply handles.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, insert, literal, select, update
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
        made = insert(attendances).values(values).returning(attendances.c.id).cte("made")
        columns = [name for name in scan if name != "attendance_id"]
        statement = (
            insert(scans)
            .from_select(
                [*columns, "attendance_id"],
                select(*[literal(scan[name], type_=scans.c[name].type) for name in columns], made.c.id),
            )
            .returning(scans.c.attendance_id, scans.c.id)
        )
        attendance_id, scan_id = db.session.execute(statement).one()
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
    scan = _scan_values(request, action="check_out", result="ok", attendance_id=attendance.id)
    if _postgresql():
        closed = close.returning(attendances.c.id).cte("closed")
        completed = complete.where(select(closed.c.id).exists()).returning(assignments.c.id).cte("completed")
        columns = list(scan)
        statement = (
            insert(scans)
            .from_select(
                columns,
                select(*[literal(scan[name], type_=scans.c[name].type) for name in columns]).select_from(closed),
            )
            .returning(scans.c.id)
            .add_cte(completed)  # data-modifying: runs though nothing reads it
        )
        scan_id = db.session.execute(statement).scalar()
        if scan_id is None:
            return None
    else:
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
