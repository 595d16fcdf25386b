"""Offline sync: a coordinator's scanner queued scans without a network and sends them now.

Each scan is applied exactly once (unique device_id + client_scan_id; a re-sent one answers its
first result), keeps its original time, is marked offline, and has its badge token judged at that
time. Scans are applied oldest first. The same volunteer scanned on two devices becomes one
attendance and a flagged conflict (see checkin.scanning.engine), in whichever order the devices sync.
Every volunteer of the batch is locked first, in id order, so two devices syncing overlapping
batches cannot deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from app.errors import ValidationFailed
from app.extensions import db
from checkin.refusals import ScanRefused
from checkin.scanning.engine import ScanRequest, ScanResult, answer_previous, apply_scan, log_refusal, previous_scan
from checkin.scanning.geo import read_position
from checkin.scanning.results import logged_volunteer
from checkin.scanning.services import (
    BADGE,
    _aware,
    _require_coordinator,
    check_device_ids,
    check_offline_time,
    scan_badge,
)
from checkin.tokens import badge_owner
from events.models import Event
from events.signup.places import lock_volunteer
from volunteers.accounts.models import User


@dataclass(frozen=True)
class OfflineScan:
    """One queued scan: the device's own id for it, the badge token read (or a user id), when, and where."""

    client_scan_id: str
    badge_token: str | None
    scanned_at: datetime
    latitude: float | None = None
    longitude: float | None = None
    user_id: int | None = None


def _validate(scans: list[OfflineScan], device_id: str) -> None:
    if not device_id:
        raise ValidationFailed(_("A device id is required to sync scans."), code="invalid_id", field="device_id")
    limit = int(current_app.config["CHECKIN_SYNC_MAX_SCANS"])
    if len(scans) > limit:
        raise ValidationFailed(
            _("Send at most %(count)s scans at a time.", count=limit), code="too_many_scans", field="scans"
        )
    for index, scan in enumerate(scans):
        check_device_ids(device_id, scan.client_scan_id)
        _aware(scan.scanned_at, f"scans.{index}.scanned_at")
        if (scan.badge_token is None) == (scan.user_id is None):
            raise ValidationFailed(
                _("Give either the badge code or the volunteer, not both."), code="invalid_scan", field=f"scans.{index}"
            )


def _refused_result(refused: ScanRefused, scan: OfflineScan, event: Event) -> ScanResult:
    """A refused queued scan as the result it answers (the API answers it with scan_answer like any other)."""
    return ScanResult(
        action="none",
        result="refused",
        attendance=None,
        volunteer=logged_volunteer(refused),
        shift=None,
        position_name="",
        at=scan.scanned_at,
        duration_minutes=None,
        flags=["offline"],
        message=refused.message,
        code=refused.code,
        scan=refused.scan,
        event=event,
    )


def sync_offline_scans(
    event: Event, scans: list[OfflineScan], *, by: User, device_id: str, now: datetime
) -> list[ScanResult]:
    """Apply a device's queued scans once each, oldest first; one result per scan, in the order given.

    A refused scan gives a result with result "refused" and its `code` (it is logged, not raised).
    """
    _require_coordinator(by, event)
    scans = list(scans)
    _validate(scans, device_id)
    owners = {badge_owner(scan.badge_token) if scan.badge_token is not None else scan.user_id for scan in scans}
    for user_id in sorted(owner for owner in owners if owner is not None):
        volunteer = db.session.get(User, user_id)
        if volunteer is not None:
            lock_volunteer(volunteer)
    results: list[ScanResult | None] = [None] * len(scans)
    for index in sorted(range(len(scans)), key=lambda i: (scans[i].scanned_at, i)):
        scan = scans[index]
        try:
            results[index] = _sync_one(scan, event, by=by, device_id=device_id, now=now)
        except ScanRefused as refused:
            results[index] = _refused_result(refused, scan, event)
    answered = [result for result in results if result is not None]
    assert len(answered) == len(scans)  # each scan was applied once, in the order of its time
    return answered


def _sync_one(scan: OfflineScan, event: Event, *, by: User, device_id: str, now: datetime) -> ScanResult:
    if scan.badge_token is not None:
        return scan_badge(
            scan.badge_token,
            event,
            by=by,
            now=now,
            device_id=device_id,
            client_scan_id=scan.client_scan_id,
            scanned_at=scan.scanned_at,
            offline=True,
            latitude=scan.latitude,
            longitude=scan.longitude,
        )
    return scan_without_token(scan, event, by=by, device_id=device_id, now=now)


def scan_without_token(scan: OfflineScan, event: Event, *, by: User, device_id: str, now: datetime) -> ScanResult:
    """A queued scan that names the volunteer by id (the coordinator picked them from the offline roster)."""
    earlier = previous_scan(device_id, scan.client_scan_id)
    if earlier is not None:
        return answer_previous(earlier, now=now)
    position = read_position(scan.latitude, scan.longitude)
    volunteer = db.session.get(User, scan.user_id)
    try:
        if volunteer is None:
            raise ScanRefused("volunteer_unknown")
        check_offline_time(scan.scanned_at, now=now)
    except ScanRefused as refused:
        raise log_refusal(
            refused,
            event=event,
            volunteer=volunteer,
            method=BADGE,
            at=scan.scanned_at,
            now=now,
            by=by,
            device_id=device_id,
            client_scan_id=scan.client_scan_id,
            offline=True,
            position=position,
        ) from None
    return apply_scan(
        ScanRequest(
            method=BADGE,
            event=event,
            volunteer=volunteer,
            at=scan.scanned_at,
            now=now,
            by=by,
            device_id=device_id,
            client_scan_id=scan.client_scan_id,
            offline=True,
            position=position,
        )
    )
