"""The one serialization of a scan's outcome: what a scan did (a ScanResult, checkin.scanning.engine) or why
it was refused (a ScanRefused, checkin.refusals), as the ScanResult object api/scan_schemas.py documents.

Everything that answers with a scan's outcome starts from `scan_answer`: the API (live scans, a device's
offline queue, kiosk scans, the express lane), the kiosk's confirmation page, the scanner page's manual
check, and ScanResult.to_dict.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.extensions import db
from checkin.refusals import ScanRefused
from volunteers.accounts.models import User

if TYPE_CHECKING:
    from checkin.scanning.engine import ScanResult


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def volunteer_ref(user: User | None) -> dict | None:
    """The volunteer a scan was of: id, name and volunteer number."""
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "volunteer_number": user.volunteer_number}


def logged_volunteer(refused: ScanRefused) -> User | None:
    """The volunteer the scan log's row of a refusal names, if any."""
    logged = refused.scan
    return db.session.get(User, logged.user_id) if logged is not None and logged.user_id else None


def scan_answer(
    outcome: ScanResult | ScanRefused, *, client_scan_id: str | None = None, at: datetime | None = None
) -> dict:
    """A scan's outcome as the documented ScanResult object.

    A refusal raised by a scan service has its scan log row (`.scan`), which says when and whose the scan was;
    `at` is its time when it has none.
    """
    if isinstance(outcome, ScanRefused):
        logged = outcome.scan
        return {
            "client_scan_id": client_scan_id,
            "ok": False,
            "action": "none",
            "result": "refused",
            "code": outcome.code,
            "message": outcome.message,
            "at": _iso(logged.scanned_at if logged is not None else at),
            "flags": ["offline"] if logged is not None and logged.offline else [],
            "volunteer": volunteer_ref(logged_volunteer(outcome)),
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
        "attendance_id": outcome.attendance.id if outcome.attendance is not None else None,
    }
