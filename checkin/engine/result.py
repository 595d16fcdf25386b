"""The one result type of a scan (ScanResult) and its one serialization (scan_answer).

Everything that answers with a scan's outcome starts from `scan_answer`: the API (live scans, a device's offline
queue, kiosk scans), the kiosk's confirmation page, the scanner page's manual check, and ScanResult.to_dict. A
refusal (ScanRefused, checkin.refusals) carries the ScanResult of its logged row in `.logged`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _

from app.timeutil import to_local
from checkin.engine.snapshot import AttendanceRow, LoggedScan, ShiftRow, VolunteerRow
from checkin.refusals import ScanRefused


@dataclass(frozen=True)
class ScanResult:
    """What a scan did (or, result "refused", why not), for the confirmation screen, the API and the offline sync."""

    action: str  # "check_in", "check_out" or "none"
    result: str  # "ok", "repeat", "conflict" or "refused"
    at: datetime  # the scan's time (an offline scan's original time)
    message: str
    volunteer: VolunteerRow | None = None
    shift: ShiftRow | None = None
    position_name: str = ""
    duration_minutes: int | None = None  # running (open) or final (closed)
    flags: list[str] = field(default_factory=list)  # "outside_radius", "offline", "conflict"
    attendance_id: int | None = None
    scan_id: int | None = None
    event_id: int | None = None
    code: str | None = None  # the refusal's code when result == "refused"

    @property
    def accepted(self) -> bool:
        return self.result != "refused"

    def to_dict(self) -> dict:
        """A JSON-ready summary (times in ISO 8601 UTC): the scan's answer without the API's client id and `ok`,
        with the scan log row's id and the volunteer's id and name."""
        answer = scan_answer(self)
        volunteer = answer["volunteer"]
        del answer["client_scan_id"], answer["ok"]
        return {
            **answer,
            "code": self.code,
            "scan_id": self.scan_id,
            "volunteer": {"id": volunteer["id"], "name": volunteer["name"]} if volunteer else None,
        }


def _time(value: datetime) -> str:
    return to_local(value).strftime("%H:%M")


def minutes_between(start: datetime, end: datetime) -> int:
    return max(int((end - start).total_seconds() // 60), 0)


def check_in_message(at: datetime, position: str) -> str:
    return _("Checked in at %(time)s: %(position)s.", time=_time(at), position=position)


def check_out_message(at: datetime, minutes: int) -> str:
    return _("Checked out at %(time)s after %(minutes)s minutes.", time=_time(at), minutes=minutes)


def repeat_message(attendance: AttendanceRow | None, at: datetime) -> str:
    if attendance is not None and attendance.checked_out_at is not None:
        return _("Already checked out at %(time)s.", time=_time(attendance.checked_out_at))
    return _("Already checked in at %(time)s.", time=_time(attendance.checked_in_at if attendance else at))


def conflict_message() -> str:
    return _("Also scanned on another device: flagged for the coordinator, not counted twice.")


def flags_of(*, offline: bool, outside_radius: bool = False, conflict: bool = False) -> list[str]:
    return [
        name for name, on in (("outside_radius", outside_radius), ("offline", offline), ("conflict", conflict)) if on
    ]


def running_minutes(attendance: AttendanceRow, *, at: datetime, now: datetime) -> int | None:
    """How long the stay lasted (closed) or has lasted so far (open); None for a stay closed otherwise."""
    end = attendance.checked_out_at or (None if attendance.status != "open" else max(now, at))
    return minutes_between(attendance.checked_in_at, end) if end else None


def of_attendance(
    attendance: AttendanceRow,
    *,
    action: str,
    result: str,
    at: datetime,
    now: datetime,
    volunteer: VolunteerRow | None,
    scan_id: int | None,
    offline: bool,
    conflict: bool = False,
) -> ScanResult:
    """A repeat's or a conflict's result (the attendance as the scan found it), or a re-sent scan's."""
    if result == "conflict":
        message = conflict_message()
    elif result == "repeat":
        message = repeat_message(attendance, at)
    elif action == "check_out":
        message = check_out_message(at, running_minutes(attendance, at=at, now=now) or 0)
    else:
        message = check_in_message(at, attendance.shift.position_name)
    return ScanResult(
        action=action,
        result=result,
        at=at,
        message=message,
        volunteer=volunteer,
        shift=attendance.shift,
        position_name=attendance.shift.position_name,
        duration_minutes=running_minutes(attendance, at=at, now=now),
        flags=flags_of(
            offline=offline or attendance.offline,
            outside_radius=attendance.outside_radius,
            conflict=conflict or attendance.conflict,
        ),
        attendance_id=attendance.id,
        scan_id=scan_id,
        event_id=attendance.event_id,
    )


def of_logged(scan: LoggedScan, *, now: datetime) -> ScanResult:
    """The result a logged accepted scan answers again (a device re-sent it)."""
    if scan.attendance is None:
        return ScanResult(
            action=scan.action,
            result=scan.result,
            at=scan.scanned_at,
            message=repeat_message(None, scan.scanned_at),
            volunteer=scan.volunteer,
            flags=flags_of(offline=scan.offline),
            scan_id=scan.id,
            event_id=scan.event_id,
        )
    return of_attendance(
        scan.attendance,
        action=scan.action,
        result=scan.result,
        at=scan.scanned_at,
        now=now,
        volunteer=scan.volunteer,
        scan_id=scan.id,
        offline=scan.offline,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def volunteer_ref(volunteer: VolunteerRow | None) -> dict | None:
    """The volunteer a scan was of: id, name and volunteer number."""
    if volunteer is None:
        return None
    return {"id": volunteer.id, "name": volunteer.name, "volunteer_number": volunteer.volunteer_number}


def scan_answer(
    outcome: ScanResult | ScanRefused, *, client_scan_id: str | None = None, at: datetime | None = None
) -> dict:
    """A scan's outcome as the documented ScanResult object (api/scan_schemas.py).

    A refusal raised by the engine carries its logged row (`.logged`), which says when and whose the scan was;
    `at` is its time when it has none.
    """
    if isinstance(outcome, ScanRefused):
        logged = outcome.logged
        return {
            "client_scan_id": client_scan_id,
            "ok": False,
            "action": "none",
            "result": "refused",
            "code": outcome.code,
            "message": outcome.message,
            "at": _iso(logged.at if logged is not None else at),
            "flags": list(logged.flags) if logged is not None else [],
            "volunteer": volunteer_ref(logged.volunteer if logged is not None else None),
            "position_name": "",
            "shift": None,
            "duration_minutes": None,
            "attendance_id": None,
        }
    shift = outcome.shift
    return {
        "client_scan_id": client_scan_id,
        "ok": outcome.accepted,
        "action": outcome.action,
        "result": outcome.result,
        "code": outcome.code if not outcome.accepted else None,
        "message": outcome.message,
        "at": _iso(outcome.at),
        "flags": list(outcome.flags),
        "volunteer": volunteer_ref(outcome.volunteer),
        "position_name": outcome.position_name or "",
        "shift": None
        if shift is None
        else {"id": shift.id, "starts_at": _iso(shift.starts_at), "ends_at": _iso(shift.ends_at)},
        "duration_minutes": outcome.duration_minutes,
        "attendance_id": outcome.attendance_id,
    }
