"""Schemas of the check-in endpoints (POST /scans, POST /kiosk-scans), published beside api/schemas.py.

They are added to the same SCHEMAS mapping, so the OpenAPI document shows them and the
validator enforces them like every other request. A scanned text is accepted by the schema up
to MAX_SCANNED_TEXT characters and judged by checkin/: anything that is not a valid token of
at most 512 bytes is a refused scan with its reason code (token_too_long, token_malformed, ...),
logged and answered per scan, so one unreadable code never blocks a device's whole queue.
"""

from __future__ import annotations

from api.schemas import DATE_TIME, ID, SCHEMAS, nullable, obj, ref
from checkin.refusals import REFUSAL_CODES
from checkin.tokens import MAX_TOKEN_BYTES

#: scans per request (a device's offline queue is sent in batches of at most this many)
MAX_SCANS_PER_REQUEST = 500
#: longest scanned text the schema accepts; tokens longer than MAX_TOKEN_BYTES are refused per scan
MAX_SCANNED_TEXT = 16 * 1024
#: what a scan's result can be; "refused" carries one of SCAN_REFUSAL_CODES in `code`
SCAN_RESULTS = ["ok", "repeat", "conflict", "refused"]
SCAN_ACTIONS = ["check_in", "check_out", "none"]
SCAN_FLAGS = ["outside_radius", "offline", "conflict"]
SCAN_REFUSAL_CODES = list(REFUSAL_CODES)

DEVICE_TEXT = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z0-9._:-]+$"}
SCANNED_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_SCANNED_TEXT, "pattern": r"^[^\u0000]*$"}
LATITUDE = nullable(
    {
        "type": "number",
        "minimum": -90,
        "maximum": 90,
        "description": "The device's position (give both latitude and longitude, or neither).",
    }
)
LONGITUDE = nullable({"type": "number", "minimum": -180, "maximum": 180})

REQUESTS = {
    "BadgeScan": obj(
        {
            "client_scan_id": {
                **DEVICE_TEXT,
                "description": "The device's own id for this scan (1-64 letters, digits, "
                ". _ : -): re-sending it answers the first result.",
            },
            "badge_token": {
                **SCANNED_TEXT,
                "description": f"The text read from the volunteer's badge QR code. A badge "
                f"token is at most {MAX_TOKEN_BYTES} bytes; anything else "
                f"is a refused scan (token_too_long, token_malformed, ...).",
            },
            "scanned_at": {
                **DATE_TIME,
                "description": "When the badge was read, with a UTC offset. Required for "
                "offline scans (kept as the check-in or check-out time); "
                "a live scan takes the server's time.",
            },
            "offline": {
                "type": "boolean",
                "default": False,
                "description": "Queued while the device had no network: applied at `scanned_at`, flagged.",
            },
            "latitude": LATITUDE,
            "longitude": LONGITUDE,
        },
        ["client_scan_id", "badge_token"],
        closed=True,
    ),
    "ScanBatch": obj(
        {
            "event_id": {**ID, "description": "The event the coordinator is checking volunteers in to."},
            "device_id": {**DEVICE_TEXT, "description": "The scanning device's own stable id."},
            "scans": {"type": "array", "minItems": 1, "maxItems": MAX_SCANS_PER_REQUEST, "items": ref("BadgeScan")},
        },
        ["event_id", "device_id", "scans"],
        closed=True,
    ),
    "KioskScan": obj(
        {
            "token": {**SCANNED_TEXT, "description": "The token of the kiosk's QR code (the `t` of the URL it opens)."},
            "latitude": LATITUDE,
            "longitude": LONGITUDE,
            "accuracy_m": nullable(
                {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 1_000_000,
                    "description": "The reported position's accuracy in metres.",
                }
            ),
        },
        ["token"],
        closed=True,
    ),
}

RESPONSES = {
    "ScanResult": obj(
        {
            "client_scan_id": nullable({"type": "string", "description": "As sent (null for kiosk scans)."}),
            "ok": {"type": "boolean", "description": "False when the scan was refused (result refused)."},
            "action": {"type": "string", "enum": SCAN_ACTIONS},
            "result": {
                "type": "string",
                "enum": SCAN_RESULTS,
                "description": "ok: checked in or out; repeat: scanned again within two minutes, nothing "
                "changed; conflict: also scanned on another device, flagged for the "
                "coordinator and not counted twice; refused: see code.",
            },
            "code": nullable(
                {
                    "type": "string",
                    "enum": [*SCAN_REFUSAL_CODES, None],
                    "description": "Why the scan was refused (machine-readable); null when accepted.",
                }
            ),
            "message": {"type": "string", "description": "What to show, in the caller's language."},
            "at": nullable(DATE_TIME),
            "flags": {"type": "array", "items": {"type": "string", "enum": SCAN_FLAGS}},
            # inline, not a $ref: OpenAPI 3.0 ignores `nullable` beside a $ref
            "volunteer": nullable(
                obj(
                    {"id": ID, "name": {"type": "string"}, "volunteer_number": {"type": "string"}},
                    ["id", "name", "volunteer_number"],
                )
            ),
            "position_name": {"type": "string"},
            "shift": nullable(
                obj({"id": ID, "starts_at": DATE_TIME, "ends_at": DATE_TIME}, ["id", "starts_at", "ends_at"])
            ),
            "duration_minutes": nullable(
                {"type": "integer", "minimum": 0, "description": "Minutes checked in so far (open) or in all (closed)."}
            ),
            "attendance_id": nullable(ID),
        },
        [
            "client_scan_id",
            "ok",
            "action",
            "result",
            "code",
            "message",
            "at",
            "flags",
            "volunteer",
            "position_name",
            "shift",
            "duration_minutes",
            "attendance_id",
        ],
    ),
    "ScanBatchResult": obj(
        {
            "event_id": ID,
            "device_id": {"type": "string"},
            "results": {"type": "array", "items": ref("ScanResult"), "description": "One per scan, in the order sent."},
        },
        ["event_id", "device_id", "results"],
    ),
}

SCHEMAS.update(REQUESTS)
SCHEMAS.update(RESPONSES)
