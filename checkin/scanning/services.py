"""Check-in services: the public API of checkin/ for the kiosk, scanner and dashboard pages, the API and jobs.

Every service takes the acting user and `now`, flushes and never commits. A scan that is refused
raises ScanRefused (409, `.code` machine-readable, `.message` readable) AFTER writing the refusal to
the scan log: callers commit before answering (e.g. `except ScanRefused: db.session.commit(); raise`),
otherwise the refusal's log row is rolled back with the request. `alone=True` says the scan is the
caller's whole transaction, committed right after: it then runs without a savepoint (checkin.scanning.engine).
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
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import record
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_run_checkin
from checkin.models import ScanMethod
from checkin.refusals import REFUSAL_CODES, ScanRefused, refusal_message
from checkin.scanning.engine import ScanRequest, ScanResult, answer_previous, apply_scan, log_refusal, previous_scan
from checkin.scanning.geo import Coordinate, Position, read_position
from checkin.tokens import BadgeClaim, KioskClaim, parse_badge_token, parse_kiosk_token
from events.models import Event, Shift
from events.signup.places import lock_and_load_volunteer
from volunteers.accounts.models import User

__all__ = [
    "REFUSAL_CODES",
    "BadgeClaim",
    "KioskClaim",
    "ScanRefused",
    "ScanResult",
    "check_device_ids",
    "check_offline_time",
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


def check_offline_time(scanned_at: datetime, *, now: datetime) -> None:
    """Refuse an offline scan time in the future (beyond the clock skew) or older than the configured bound."""
    config = current_app.config
    if scanned_at > now + timedelta(seconds=int(config["CHECKIN_CLOCK_SKEW_SECONDS"])):
        raise ScanRefused("scan_in_future")
    hours = int(config["CHECKIN_OFFLINE_MAX_AGE_HOURS"])
    if scanned_at < now - timedelta(hours=hours):
        raise ScanRefused("scan_too_old", hours=hours)


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

    def refuse(refused: ScanRefused, target: Event | None) -> ScanRefused:
        return log_refusal(
            refused, event=target, volunteer=volunteer, method=KIOSK, at=now, now=now, by=volunteer, position=position
        )

    if not isinstance(claim, KioskClaim):
        try:
            claim = parse_kiosk_token(claim, now=now)
        except ScanRefused as refused:
            raise refuse(refused, event) from None
    if event is not None and claim.event_id != event.id:
        raise refuse(ScanRefused("wrong_event"), event)
    target = event or db.session.get(Event, claim.event_id)
    if target is None:
        raise refuse(ScanRefused("not_allowed"), None)
    if claim.shift_id is not None:
        shift = db.session.get(Shift, claim.shift_id)
        if shift is None or shift.event_id != target.id:
            raise refuse(ScanRefused("wrong_event"), target)
    return apply_scan(
        ScanRequest(
            method=KIOSK,
            event=target,
            volunteer=volunteer,
            at=now,
            now=now,
            by=volunteer,
            position=position,
            shift_id=claim.shift_id,
            alone=alone,
        )
    )


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
    position = read_position(latitude, longitude)
    at = _aware(scanned_at, "scanned_at") if offline else now

    def fail(refused: ScanRefused, volunteer: User | None = None, digest: str | None = None) -> ScanResult:
        """A re-sent scan answers its first result (its token may have expired since); else log and raise."""
        earlier = previous_scan(device_id, client_scan_id)
        if earlier is not None:
            return answer_previous(earlier, now=now)
        raise log_refusal(
            refused,
            event=event,
            volunteer=volunteer,
            method=BADGE,
            at=at,
            now=now,
            by=by,
            device_id=device_id,
            client_scan_id=client_scan_id,
            offline=offline,
            position=position,
            token_digest=digest,
        )

    if not isinstance(claim, BadgeClaim):
        try:
            claim = parse_badge_token(claim, now=at)
        except ScanRefused as refused:
            return fail(refused)
    volunteer = lock_and_load_volunteer(claim.user_id)  # the scan's first statement: load and lock at once
    if volunteer is None:
        return fail(ScanRefused("volunteer_unknown"))
    if offline:
        try:
            check_offline_time(at, now=now)
        except ScanRefused as refused:
            return fail(refused, volunteer, claim.digest)
    return apply_scan(
        ScanRequest(
            method=BADGE,
            event=event,
            volunteer=volunteer,
            at=at,
            now=now,
            by=by,
            device_id=device_id,
            client_scan_id=client_scan_id,
            offline=offline,
            position=position,
            token_digest=claim.digest,
            locked=True,
            alone=alone,
        )
    )


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
    volunteer = db.session.scalar(select(User).where(User.mobile == digits))
    if volunteer is None:
        raise log_refusal(
            ScanRefused("volunteer_unknown"),
            event=event,
            volunteer=None,
            method=MANUAL,
            at=now,
            now=now,
            by=by,
            position=position,
            note=reason,
        )
    result = apply_scan(
        ScanRequest(
            method=MANUAL,
            event=event,
            volunteer=volunteer,
            at=now,
            now=now,
            by=by,
            position=position,
            note=reason,
            check_geofence=False,
        )
    )
    if result.result == "ok":
        record(
            f"attendance.manual_{result.action}",
            actor=by,
            now=now,
            target=result.attendance,
            organization_id=event.organization_id,
            note=reason,
            after={"user_id": volunteer.id, "event_id": event.id, "action": result.action, "at": now.isoformat()},
        )
    return result
