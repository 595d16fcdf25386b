"""Offline sync: a coordinator's scanner queued scans without a network and sends them now.

Each scan is applied exactly once (unique device_id + client_scan_id; a re-sent one answers its
first result), keeps its original time, is marked offline, and has its badge token judged at that
time. Scans are applied oldest first. The same volunteer scanned on two devices becomes one
attendance and a flagged conflict (see checkin.scanning.engine), in whichever order the devices sync.
Every volunteer of the batch is locked first, in id order (one statement), so two devices syncing
overlapping batches cannot deadlock. Each scan then goes through the engine (checkin.engine.apply).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.errors import ValidationFailed
from app.extensions import db
from checkin import metrics
from checkin.engine.apply import apply_scan
from checkin.engine.geo import read_position
from checkin.engine.request import ScanRequest
from checkin.engine.result import ScanResult
from checkin.engine.snapshot import lock_volunteers
from checkin.refusals import ScanRefused
from checkin.scanning.services import (
    BADGE,
    _aware,
    _require_coordinator,
    check_device_ids,
    scan_claim,
)
from checkin.tokens import badge_owner
from events.models import Event
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


def _refused_result(refused: ScanRefused, scan: OfflineScan, event_id: int) -> ScanResult:
    """A refused queued scan as the result it answers (the API answers it with scan_answer like any other)."""
    logged = refused.logged
    return ScanResult(
        action="none",
        result="refused",
        at=scan.scanned_at,
        message=refused.message,
        volunteer=logged.volunteer if logged is not None else None,
        flags=["offline"],
        scan_id=logged.scan_id if logged is not None else None,
        event_id=event_id,
        code=refused.code,
    )


def sync_offline_scans(
    event: Event, scans: list[OfflineScan], *, by: User, device_id: str, now: datetime
) -> list[ScanResult]:
    """Apply a device's queued scans once each, oldest first; one result per scan, in the order given.

    A refused scan gives a result with result "refused" and its `code` (it is logged, not raised). The batch is
    one transaction (the caller commits it): its writes run without savepoints, its volunteers locked first.
    Should the database still refuse one (a unique index: another device sent the same device and client id at
    this moment), the batch is rolled back and applied again, each scan in its own savepoint.
    """
    _require_coordinator(by, event)
    scans = list(scans)
    _validate(scans, device_id)
    event_id = event.id
    counted = metrics.mark(db.session())
    try:
        with db.session.begin_nested():
            return _sync(event_id, scans, by=by, device_id=device_id, now=now, careful=False)
    except IntegrityError:
        metrics.forget_since(db.session(), counted)  # rolled back: counted again when applied again
        return _sync(event_id, scans, by=by, device_id=device_id, now=now, careful=True)


def _sync(
    event_id: int, scans: list[OfflineScan], *, by: User, device_id: str, now: datetime, careful: bool
) -> list[ScanResult]:
    owners = {badge_owner(scan.badge_token) if scan.badge_token is not None else scan.user_id for scan in scans}
    lock_volunteers(sorted(owner for owner in owners if owner is not None))
    results: list[ScanResult | None] = [None] * len(scans)
    for index in sorted(range(len(scans)), key=lambda i: (scans[i].scanned_at, i)):
        scan = scans[index]
        request = ScanRequest(
            method=BADGE,
            event_id=event_id,
            volunteer_id=scan.user_id,
            at=scan.scanned_at,
            now=now,
            by_id=by.id,
            device_id=device_id,
            client_scan_id=scan.client_scan_id,
            offline=True,
            position=read_position(scan.latitude, scan.longitude),
            locked=True,
            batched=not careful,  # no savepoint: the batch is rolled back whole (see sync_offline_scans)
        )
        try:
            if scan.badge_token is not None:
                results[index] = scan_claim(request, scan.badge_token)
            else:
                results[index] = apply_scan(request)  # the coordinator picked the volunteer from the offline roster
        except ScanRefused as refused:
            results[index] = _refused_result(refused, scan, event_id)
    answered = [result for result in results if result is not None]
    assert len(answered) == len(scans)  # each scan was applied once, in the order of its time
    return answered
