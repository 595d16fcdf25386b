"""Check-in services: the public API of checkin/ for the kiosk, scanner and dashboard pages, the API and jobs.

Each service checks who may scan, turns what was scanned into a ScanRequest (checkin.engine.request) and applies
it with the engine (checkin.engine.apply). Every service takes the acting user and `now` and never commits. A scan
that is refused raises ScanRefused (409, `.code` machine-readable, `.message` readable) AFTER writing the refusal
to the scan log: callers commit before answering (e.g. `except ScanRefused: db.session.commit(); raise`),
otherwise the refusal's log row is rolled back with the request. `alone=True` says the scan is the
caller's whole transaction, committed right after: its write then needs no savepoint.
Tokens may be given as the scanned text (preferred: parsed here at the scan's own time, and a bad
token is logged) or as an already parsed KioskClaim / BadgeClaim.

    scan_kiosk(token_or_claim, volunteer, *, now, latitude=None, longitude=None, accuracy_m=None, event=None,
               alone=False)
    scan_badge(token_or_claim, event, *, by, now, device_id=None, client_scan_id=None, scanned_at=None,
               offline=False, latitude=None, longitude=None, alone=False)
    manual_check(event, mobile, *, by, now, reason)

The rest of check-in's services live beside this module: sync_offline_scans (checkin.scanning.offline),
set_check_out_time / void_attendance / resolve_conflict (checkin.scanning.corrections) and
mark_missing_checkouts (checkin.scanning.missing).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import record
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_run_checkin
from checkin.engine.apply import apply_scan, previous_result, refuse
from checkin.engine.geo import Coordinate, Position, read_position
from checkin.engine.request import ScanRequest
from checkin.engine.result import ScanResult
from checkin.engine.snapshot import VolunteerRow
from checkin.models import Attendance, ScanMethod
from checkin.refusals import REFUSAL_CODES, ScanRefused, refusal_message
from checkin.tokens import BadgeClaim, KioskClaim, parse_badge_token, parse_kiosk_token
from events.models import Event
from volunteers.accounts.models import User

__all__ = [
    "REFUSAL_CODES",
    "BadgeClaim",
    "KioskClaim",
    "ScanRefused",
    "ScanResult",
    "check_device_ids",
    "manual_check",
    "refusal_message",
    "scan_badge",
    "scan_kiosk",
]

KIOSK = ScanMethod.KIOSK.value
BADGE = ScanMethod.BADGE.value
MANUAL = ScanMethod.MANUAL.value
#: a device id or a client scan id: 1-64 letters, digits, dots, underscores, colons or dashes
DEVICE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def check_device_ids(device_id: str | None, client_scan_id: str | None) -> None:
    """Device and client scan ids: 1-64 characters of letters, digits and . _ : - (ValidationFailed otherwise)."""
    for name, value in (("device_id", device_id), ("client_scan_id", client_scan_id)):
        if value is not None and not (isinstance(value, str) and DEVICE_ID.fullmatch(value)):
            raise ValidationFailed(
                _("Use 1 to 64 letters, digits, dots, colons, dashes or underscores."), code="invalid_id", field=name
            )
    if client_scan_id is not None and device_id is None:
        raise ValidationFailed(_("A client scan id needs a device id."), code="invalid_id", field="device_id")


def _aware(value: object, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationFailed(_("Give the scan's time with its time zone."), code="invalid_time", field=field)
    return value


def scan_kiosk(
    claim: KioskClaim | str,
    volunteer: User,
    *,
    now: datetime,
    latitude: Coordinate = None,
    longitude: Coordinate = None,
    accuracy_m: Coordinate = None,
    event: Event | None = None,
    alone: bool = False,
) -> ScanResult:
    """The logged-in volunteer scanned the site's rotating code: check in, or out when already in.

    `event`: the event the page was opened for, if any; a token of another event is refused (wrong_event).
    """
    position = read_position(latitude, longitude, accuracy_m)
    request = ScanRequest(
        method=KIOSK,
        event_id=event.id if event is not None else None,
        volunteer_id=volunteer.id,
        at=now,
        now=now,
        by_id=volunteer.id,
        position=position,
        alone=alone,
    )
    if not isinstance(claim, KioskClaim):
        try:
            claim = parse_kiosk_token(claim, now=now)
        except ScanRefused as refused:
            raise refuse(request, refused, volunteer=_row(volunteer)) from None
    if event is not None and claim.event_id != event.id:
        raise refuse(request, ScanRefused("wrong_event"), volunteer=_row(volunteer))
    return apply_scan(replace(request, event_id=claim.event_id, shift_id=claim.shift_id))


def _row(volunteer: User) -> VolunteerRow:
    return VolunteerRow(volunteer.id, volunteer.name, volunteer.volunteer_number, bool(volunteer.is_disabled))


def _require_coordinator(by: User, event: Event) -> None:
    if not can_run_checkin(by, event):
        raise PermissionDenied(_("Only the event's coordinators may check volunteers in."))


def scan_badge(
    claim: BadgeClaim | str,
    event: Event,
    *,
    by: User,
    now: datetime,
    device_id: str | None = None,
    client_scan_id: str | None = None,
    scanned_at: datetime | None = None,
    offline: bool = False,
    latitude: Coordinate = None,
    longitude: Coordinate = None,
    alone: bool = False,
) -> ScanResult:
    """A coordinator scanned a volunteer's badge: check in, or out when already in.

    With (device_id, client_scan_id) the scan is applied once: a re-sent scan answers its first
    result. An offline scan keeps `scanned_at` (required), its token is judged at that time, and
    it is refused when in the future or older than CHECKIN_OFFLINE_MAX_AGE_HOURS.
    """
    _require_coordinator(by, event)
    check_device_ids(device_id, client_scan_id)
    request = ScanRequest(
        method=BADGE,
        event_id=event.id,
        volunteer_id=None,
        at=_aware(scanned_at, "scanned_at") if offline else now,
        now=now,
        by_id=by.id,
        device_id=device_id,
        client_scan_id=client_scan_id,
        offline=offline,
        position=read_position(latitude, longitude),
        alone=alone,
    )
    return scan_claim(request, claim)


def scan_claim(request: ScanRequest, claim: BadgeClaim | str) -> ScanResult:
    """A badge scan's request completed by its token, judged at the scan's time (a re-sent scan answers its first
    result even when its token has expired since)."""
    if not isinstance(claim, BadgeClaim):
        try:
            claim = parse_badge_token(claim, now=request.at)
        except ScanRefused as refused:
            earlier = previous_result(request.device_id, request.client_scan_id, now=request.now)
            if earlier is not None:
                return earlier
            raise refuse(request, refused) from None
    return apply_scan(replace(request, volunteer_id=claim.user_id, token_digest=claim.digest))


def normalize_mobile(mobile: object) -> str:
    """Digits of a mainland mobile number, without spaces, dashes or a +86 prefix."""
    digits = re.sub(r"[\s-]", "", str(mobile or ""))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def manual_check(
    event: Event,
    mobile: str,
    *,
    by: User,
    now: datetime,
    reason: str,
    latitude: Coordinate = None,
    longitude: Coordinate = None,
) -> ScanResult:
    """A coordinator checks a volunteer in (or out) by mobile number, with a required reason (audited)."""
    _require_coordinator(by, event)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for checking in by hand."), code="reason_required", field="reason")
    digits = normalize_mobile(mobile)
    if not re.fullmatch(r"1\d{10}", digits):
        raise ValidationFailed(_("Enter an 11-digit mobile number."), code="invalid_mobile", field="mobile")
    position: Position | None = read_position(latitude, longitude)
    volunteer_id = db.session.scalar(select(User.id).where(User.mobile == digits))
    request = ScanRequest(
        method=MANUAL,
        event_id=event.id,
        volunteer_id=volunteer_id,
        at=now,
        now=now,
        by_id=by.id,
        position=position,
        note=reason,
        check_geofence=False,
    )
    if volunteer_id is None:
        raise refuse(request, ScanRefused("volunteer_unknown"))
    result = apply_scan(request)
    if result.result == "ok":
        record(
            f"attendance.manual_{result.action}",
            actor=by,
            now=now,
            target=db.session.get(Attendance, result.attendance_id),
            organization_id=event.organization_id,
            note=reason,
            after={"user_id": volunteer_id, "event_id": event.id, "action": result.action, "at": now.isoformat()},
        )
    return result
