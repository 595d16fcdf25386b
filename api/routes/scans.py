"""Check-in scans: a coordinator's badge scanner (live scans and offline batches) and a volunteer's kiosk scan.

The rules live in checkin/ (checkin.scanning.services): these views check who may scan, validate
the body, call the services and answer one result per scan. A refused scan is not an
error of the request: it is written to the scan log (committed) and answered with
`ok: false` and its reason code. Whole-request problems (authentication, an unknown
event, permission, a malformed or oversized body, rate limits) answer 4xx JSON errors.
"""

from __future__ import annotations

from functools import cache

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.orm import joinedload

from api import auth
from api.blueprint import bp
from api.openapi import operation
from api.scan_schemas import MAX_SCANS_PER_REQUEST
from api.schemas import MAX_ID
from api.validation import raise_for
from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import client_address, db, limiter
from app.permissions import can_run_checkin, can_view_event
from app.timeutil import utcnow
from app.web.pages import acting_user
from checkin.engine.result import scan_answer
from checkin.scanning.offline import OfflineScan, sync_offline_scans
from checkin.scanning.services import ScanRefused, check_device_ids, scan_badge, scan_kiosk
from events.models import Event

SCAN_ENDPOINTS = {"api.create_scans", "api.create_kiosk_scan"}


@bp.before_request
def limit_scan_bodies():
    """Scan bodies are small: refuse big ones (413) before reading them."""
    if request.endpoint in SCAN_ENDPOINTS:
        request.max_content_length = int(current_app.config.get("API_SCANS_MAX_BODY_BYTES", 1024 * 1024))


def _config(name: str, default: str):
    return lambda: current_app.config.get(name, default)


#: the settings POST /api/v1/scans's limits read
SCANNER_LIMIT_SETTINGS = ("API_SCAN_RATE_LIMIT_PER_USER", "API_SCAN_RATE_LIMIT_PER_ADDRESS")
SCANNER_LIMITS = (
    limiter.limit(_config(SCANNER_LIMIT_SETTINGS[0], "600 per minute"), key_func=auth.rate_limit_key),
    limiter.limit(_config(SCANNER_LIMIT_SETTINGS[1], "6000 per minute"), key_func=client_address),
)
KIOSK_LIMITS = (limiter.limit(_config("API_KIOSK_SCAN_RATE_LIMIT", "30 per minute"), key_func=auth.rate_limit_key),)


# -- the event scanned at (each scan is answered by checkin.engine.result.scan_answer) ---------------


def scanning_event(event_id: int) -> Event:
    """The event with its organizer (one query; the permission check needs it): 404 unseen, 403 not coordinated."""
    event = db.session.scalar(_event_query(), {"event_id": event_id}) if 0 < event_id <= MAX_ID else None
    if event is None or not can_view_event(current_user, event):
        raise NotFound(_("No such event."))
    if not can_run_checkin(current_user, event):
        raise PermissionDenied(_("Only the event's coordinators may check volunteers in."), code="not_coordinator")
    return event


@cache
def _event_query() -> Select[tuple[Event]]:
    """The event with its organizer, by id: built once (every scan request runs it)."""
    return select(Event).options(joinedload(Event.organization)).where(Event.id == bindparam("event_id", type_=Integer))


# -- input the schema cannot express ------------------------------------------------------------


def _position_errors(item: dict, path: str, errors: dict[str, str]) -> None:
    if (item.get("latitude") is None) != (item.get("longitude") is None):
        missing = "longitude" if item.get("longitude") is None else "latitude"
        errors[f"{path}{missing}"] = _("Give both latitude and longitude, or neither.")


def _check_batch(body: dict) -> None:
    """Each scan's position pair, an offline scan's time and the device ids, before anything is applied."""
    errors: dict[str, str] = {}
    for index, scan in enumerate(body["scans"]):
        path = f"scans[{index}]."
        _position_errors(scan, path, errors)
        if scan.get("offline") and scan.get("scanned_at") is None:
            errors[f"{path}scanned_at"] = _("An offline scan needs the time it was made.")
        try:
            check_device_ids(body["device_id"], scan["client_scan_id"])
        except ValidationFailed as problem:  # names client_scan_id (this scan) or device_id (the body)
            field = path + problem.field if problem.field == "client_scan_id" else problem.field
            assert field is not None  # check_device_ids names the field it refuses
            errors[field] = problem.message
    raise_for(errors)


# -- endpoints ------------------------------------------------------------------------------------


@operation(
    "/scans",
    "POST",
    summary="Record badge scans (live, or a device's offline queue)",
    tag="check-in",
    response="ScanBatchResult",
    body="ScanBatch",
    errors=(403, 404),
    rate_limits=SCANNER_LIMITS,
    description=(
        "A coordinator's scanner sends the badges it read: one live scan at a time, or up to "
        f"{MAX_SCANS_PER_REQUEST} queued offline scans (`offline: true`, with `scanned_at`). Each scan "
        "checks the volunteer in, or out when already in, under the check-in rules, and is applied once "
        "per (device_id, client_scan_id): re-sending a scan answers its first result. Offline scans are "
        "applied oldest first at their own time and flagged; the same volunteer scanned on two devices "
        "becomes one attendance and a conflict for the coordinator. The answer has one result per scan, "
        "in the order sent; a refused scan has `ok: false` and its reason in `code`. Live scans are "
        "committed one by one, an offline queue together. Rate-limited per user and per address."
    ),
)
def create_scans(body):
    """Apply a coordinator's badge scans and answer one result per scan."""
    event = scanning_event(body["event_id"])
    _check_batch(body)
    coordinator = acting_user()
    device_id, scans, now, event_id = body["device_id"], body["scans"], utcnow(), event.id
    results: list[dict | None] = [None] * len(scans)
    queued = [index for index, scan in enumerate(scans) if scan.get("offline")]
    if queued:
        offline = [
            OfflineScan(
                client_scan_id=scans[i]["client_scan_id"],
                badge_token=scans[i]["badge_token"],
                scanned_at=scans[i]["scanned_at"],
                latitude=scans[i].get("latitude"),
                longitude=scans[i].get("longitude"),
            )
            for i in queued
        ]
        applied = sync_offline_scans(event, offline, by=coordinator, device_id=device_id, now=now)
        for index, result in zip(queued, applied, strict=False):
            results[index] = scan_answer(result, client_scan_id=scans[index]["client_scan_id"])
        db.session.commit()
    for index, scan in enumerate(scans):
        if scan.get("offline"):
            continue
        try:
            result = scan_badge(
                scan["badge_token"],
                event,
                by=coordinator,
                now=now,
                device_id=device_id,
                client_scan_id=scan["client_scan_id"],
                latitude=scan.get("latitude"),
                longitude=scan.get("longitude"),
                alone=True,
            )
            results[index] = scan_answer(result, client_scan_id=scan["client_scan_id"])
        except ScanRefused as refused:
            results[index] = scan_answer(refused, client_scan_id=scan["client_scan_id"], at=now)
        db.session.commit()
    return {"event_id": event_id, "device_id": device_id, "results": results}  # (event is expired by now)


@operation(
    "/kiosk-scans",
    "POST",
    summary="Check in or out with the kiosk's code",
    tag="check-in",
    response="ScanResult",
    body="KioskScan",
    rate_limits=KIOSK_LIMITS,
    description=(
        "The logged-in volunteer's phone sends the token of the kiosk QR code it scanned (and the "
        "browser's position, which geofenced events need): the volunteer is checked in, or out when "
        "already in. A refused scan answers 200 with `ok: false` and its reason in `code` (it is "
        "logged); codes are valid for the current and the previous 30-second window only. "
        "Rate-limited per user."
    ),
)
def create_kiosk_scan(body):
    """Check the caller in or out with a kiosk token."""
    errors: dict[str, str] = {}
    _position_errors(body, "", errors)
    raise_for(errors)
    now = utcnow()
    try:
        result = scan_kiosk(
            body["token"],
            acting_user(),
            now=now,
            latitude=body.get("latitude"),
            longitude=body.get("longitude"),
            accuracy_m=body.get("accuracy_m"),
            alone=True,
        )
        answer = scan_answer(result)
    except ScanRefused as refused:
        answer = scan_answer(refused, at=now)
    db.session.commit()
    return answer
