"""The express lane of POST /api/v1/scans: a coordinator's live badge scan that is a plain check-in, on PostgreSQL.

At an expo's gates nearly every scan is the same: a scanner with a bearer token sends one live
scan of a volunteer who is on a shift of the event that is open for check-in and is not checked
in anywhere. This lane serves exactly that case in three statements on the request's connection,
with no ORM objects, instead of the general engine's eight (checkin.scanning):

  A. lock the volunteer (the same guarded UPDATE of users.signup_serial as events.places) and,
     in the same round trip, read the bearer token, its user and roles, and the event;
  B. after the lock, read the volunteer's assignments on the event's shifts with their times and
     position names, whether the device sent this client id already or the badge token was
     accepted before, and whether the volunteer has an attendance at the event or open anywhere;
  C. insert the attendance and its scan-log row in one statement, then commit.

It runs before api.auth.authenticate, as the blueprint's first hook, and it either answers the
request completely or leaves it untouched (rolled back, no rate limit counted) for the normal
path, which then does everything as if the lane did not exist. It takes the request only when it
can prove the general engine would make the same check-in: the body passes the same validator
with nothing but client_scan_id and badge_token (plus `offline: false` or a `scanned_at`, which
a live scan ignores); the token is active, its user may still log in, and its last use was
recorded within api.tokens.TOUCH_INTERVAL; the caller manages the event's organizer; the event
is published, allows no walk-ins, has no geofence and no shift fence (checkin.geofence); the
badge token is valid; the volunteer is enabled, on an assignment whose shift is open for
check-in now, has no attendance at this event nor an open one elsewhere, and neither this scan
nor this badge token was seen before. Everything else — check-outs, repeats, conflicts,
refusals (which the scan log records), 4xx answers, offline queues, walk-ins, geofences — goes
the normal way. The same rate limits are counted (through Flask-Limiter, same keys), the answer
is the same document, the same metrics count it, and tests/checkin/test_express_lane.py runs
the same scenarios through both lanes and compares answers and rows.

A concurrent scan of the same volunteer waits on the lock in A, then sees the first one's
check-in in B and leaves the request to the normal path (a repeat). The unique indexes stay the
backstop: a violation rolls the lane back and the normal path answers.

SQLite (the embedded default, one site) always takes the normal path.
"""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta, timezone
from types import SimpleNamespace

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_limiter.util import get_qualified_name
from prometheus_client import Counter

from app.errors import DomainError
from app.extensions import db, limiter
from app.observability import CHECKINS, SCANS
from app.permissions import can_manage, remember_grants
from app.timeutil import to_local, utcnow
from checkin.geofence import may_fence
from checkin.refusals import ScanRefused
from checkin.tokens import parse_badge_token
from api.tokens import TOKEN_PREFIX, TOUCH_INTERVAL, hash_token

ENDPOINT = "api.create_scans"
#: a live scan's body is small; bigger ones (and chunked ones) take the normal path, which limits them
MAX_BODY_BYTES = 2048
_DEVICE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SCAN_KEYS = {"client_scan_id", "badge_token", "scanned_at", "offline"}

LANE = Counter("volunteers_scan_express", "POST /api/v1/scans requests offered to the express lane, by outcome "
               "(express: answered there; anything else: the reason it went the normal way).", ["outcome"])

# A: lock the volunteer; the token, its user and roles, the event (one round trip).
_LOCK_AND_READ = """
SELECT t.id, t.last_used_at, t.revoked_at, u.id, u.is_disabled, u.password_hash IS NOT NULL,
       (SELECT string_agg(r.role || ':' || o.path, '|') FROM role_grants r
          JOIN organizations o ON o.id = r.organization_id WHERE r.user_id = u.id),
       e.id, e.status, e.kind, e.allow_walk_ins, e.checkin_opens_minutes,
       e.latitude IS NOT NULL AND e.longitude IS NOT NULL AND COALESCE(e.checkin_radius_m, 0) <> 0, eo.path,
       v.id, v.name, v.volunteer_number, v.is_disabled
FROM api_tokens t
JOIN users u ON u.id = t.user_id
LEFT JOIN events e ON e.id = %(event)s
LEFT JOIN organizations eo ON eo.id = e.organization_id
LEFT JOIN LATERAL (SELECT id, name, volunteer_number, is_disabled FROM users
                   WHERE id = %(volunteer)s FOR UPDATE) AS v ON true
WHERE t.token_hash = %(token_hash)s
"""

# B: after the lock, what the check-in depends on (one round trip; one row even without assignments).
_READ_VOLUNTEER = """
SELECT a.id, a.shift_id, s.starts_at, s.ends_at, p.name,
       EXISTS (SELECT 1 FROM scans x
               WHERE (x.device_id = %(device)s AND x.client_scan_id = %(client)s)
                  OR (x.token_digest = %(digest)s AND x.user_id = %(volunteer)s
                      AND x.result IN ('ok', 'repeat', 'conflict'))),
       EXISTS (SELECT 1 FROM attendances t
               WHERE t.user_id = %(volunteer)s AND t.status <> 'voided'
                 AND (t.event_id = %(event)s OR t.status = 'open'))
FROM (SELECT 1) AS one
LEFT JOIN (assignments a
           JOIN shifts s ON s.id = a.shift_id AND s.event_id = %(event)s AND NOT s.is_cancelled
           JOIN positions p ON p.id = s.position_id)
       ON a.user_id = %(volunteer)s AND a.status IN ('assigned', 'completed')
ORDER BY s.starts_at, s.id
"""

# C: the attendance and its scan-log row (one round trip), as checkin.scanning._check_in writes them.
_CHECK_IN = """
WITH attendance AS (
    INSERT INTO attendances (user_id, event_id, shift_id, assignment_id, checked_in_at, status, check_in_method,
                             offline, outside_radius, conflict, checked_in_by_id, note, created_at, updated_at)
    VALUES (%(volunteer)s, %(event)s, %(shift)s, %(assignment)s, %(now)s, 'open', 'badge',
            false, false, false, %(by)s, '', %(now)s, %(now)s)
    RETURNING id
)
INSERT INTO scans (event_id, user_id, attendance_id, method, action, result, device_id, client_scan_id,
                   scanned_at, received_at, offline, scanned_by_id, token_digest, note)
SELECT %(event)s, %(volunteer)s, attendance.id, 'badge', 'check_in', 'ok', %(device)s, %(client)s,
       %(now)s, %(now)s, false, %(by)s, %(digest)s, ''
FROM attendance
RETURNING attendance_id
"""


class Caller(SimpleNamespace):
    """The bearer token's user as Flask-Login sees it while the lane runs (permissions, rate-limit key, logs)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


def enabled() -> bool:
    """The lane is on (config CHECKIN_EXPRESS_LANE) and the database is PostgreSQL."""
    return bool(current_app.config.get("CHECKIN_EXPRESS_LANE", True)) and db.engine.dialect.name == "postgresql"


def _naive_utc(value):
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _aware(value):
    return value.replace(tzinfo=timezone.utc)


def _live_scan(body) -> tuple[int, str, str, str] | None:
    """(event id, device id, client scan id, badge token) of a body holding one plain live scan, else None."""
    if not isinstance(body, dict) or set(body) != {"event_id", "device_id", "scans"}:
        return None
    scans = body["scans"]
    if not isinstance(scans, list) or len(scans) != 1 or not isinstance(scans[0], dict):
        return None
    scan = scans[0]
    if not set(scan) <= _SCAN_KEYS or scan.get("offline", False) is not False:
        return None
    device, client, token = body["device_id"], scan.get("client_scan_id"), scan.get("badge_token")
    if not (isinstance(device, str) and _DEVICE_ID.fullmatch(device) and isinstance(client, str)
            and _DEVICE_ID.fullmatch(client) and isinstance(token, str)):
        return None
    return body["event_id"], device, client, token


def _pass(outcome: str) -> None:
    """Leave the request to the normal path, exactly as it came: nothing written, nothing counted."""
    db.session.rollback()
    g.pop("_login_user", None)
    g.pop("api_token_id", None)
    g.pop("_role_grants", None)
    LANE.labels(outcome).inc()
    return None


def _validated_body():
    """The body through the endpoint's own validator; None (normal path, which answers the error) if invalid."""
    from api.openapi import VALIDATOR  # the routes' module: imported once the blueprint exists
    from api.schemas import ref
    from api.validation import read_json_body

    try:
        return read_json_body(VALIDATOR, ref("ScanBatch"), required=True)
    except DomainError:
        return None


def _choose(rows, now, opens_minutes: int):
    """checkin.shift_choice's choice: among shifts open for check-in now, the one under way, then the earliest."""
    early = timedelta(minutes=opens_minutes or 0)
    open_now = [row for row in rows if row["starts_at"] - early <= now < row["ends_at"]]
    open_now.sort(key=lambda row: (not row["starts_at"] <= now, row["starts_at"], row["shift_id"]))
    return open_now[0] if open_now else None


def express_scan():
    """Blueprint hook before authentication: answer a plain live check-in here, or return None."""
    if request.endpoint != ENDPOINT or request.method != "POST" or not enabled():
        return None
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.strip().partition(" ")
    secret = secret.strip()
    length = request.content_length
    if (scheme.lower() != "bearer" or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200
            or length is None or length > MAX_BODY_BYTES or not request.is_json):
        LANE.labels("not_plain").inc()
        return None
    body = _validated_body()
    if body is None:
        LANE.labels("invalid").inc()
        return None
    shape = _live_scan(body)
    if shape is None:
        LANE.labels("not_plain").inc()
        return None
    event_id, device_id, client_scan_id, badge = shape
    now = utcnow()
    try:
        claim = parse_badge_token(badge, now=now)
    except ScanRefused:
        LANE.labels("bad_badge").inc()
        return None
    cursor = db.session.connection().connection.driver_connection.cursor()
    naive_now = _naive_utc(now)
    cursor.execute(_LOCK_AND_READ, {"volunteer": claim.user_id, "event": event_id, "token_hash": hash_token(secret)})
    row = cursor.fetchone()
    if row is None:
        return _pass("no_token")
    (token_id, last_used, revoked, user_id, user_disabled, can_log_in, grants, found_event, status, kind,
     walk_ins, opens_minutes, circle, event_path, volunteer_id, volunteer_name, volunteer_number,
     volunteer_disabled) = row
    if revoked is not None or user_disabled or not can_log_in:
        return _pass("no_token")
    if last_used is None or now - _aware(last_used) >= TOUCH_INTERVAL:
        return _pass("token_touch")  # the normal path records the token's use
    if found_event is None or status != "published" or walk_ins or circle or may_fence(kind):
        return _pass("event")
    caller = Caller(id=user_id)
    remember_grants(user_id, grants)
    if not can_manage(caller, SimpleNamespace(path=event_path)):
        return _pass("permission")
    if volunteer_id is None or volunteer_disabled:
        return _pass("volunteer")
    parameters = {"volunteer": volunteer_id, "event": event_id, "device": device_id, "client": client_scan_id,
                  "digest": claim.digest, "by": user_id, "now": naive_now}
    cursor.execute(_READ_VOLUNTEER, parameters)
    rows = cursor.fetchall()
    if rows[0][5] or rows[0][6]:
        return _pass("seen")  # a re-sent scan, a used badge token, or a stay at this event or elsewhere
    shifts = [{"assignment_id": r[0], "shift_id": r[1], "starts_at": _aware(r[2]), "ends_at": _aware(r[3]),
               "position": r[4]} for r in rows if r[0] is not None]
    chosen = _choose(shifts, now, opens_minutes)
    if chosen is None:
        return _pass("no_open_shift")  # refused by the normal path, which logs why
    # From here the request is the lane's: the same limits as the view's decorators, then the write.
    g._login_user, g.api_token_id = caller, token_id
    limiter._check_request_limit(in_middleware=False,
                                 callable_name=get_qualified_name(current_app.view_functions[ENDPOINT]))
    try:
        cursor.execute(_CHECK_IN, {**parameters, "shift": chosen["shift_id"], "assignment": chosen["assignment_id"]})
        attendance_id = cursor.fetchone()[0]
    except db.engine.dialect.dbapi.IntegrityError:  # a unique index saw a concurrent scan first
        return _pass("conflict")
    db.session.commit()
    SCANS.labels("badge", "ok").inc()
    CHECKINS.labels("badge").inc()
    LANE.labels("express").inc()
    shift = {"id": chosen["shift_id"], "starts_at": chosen["starts_at"].isoformat(),
             "ends_at": chosen["ends_at"].isoformat()}
    result = {
        "client_scan_id": client_scan_id, "ok": True, "action": "check_in", "result": "ok", "code": None,
        "message": _("Checked in at %(time)s: %(position)s.", time=to_local(now).strftime("%H:%M"),
                     position=chosen["position"]),
        "at": now.isoformat(), "flags": [],
        "volunteer": {"id": volunteer_id, "name": volunteer_name, "volunteer_number": volunteer_number},
        "position_name": chosen["position"], "shift": shift, "duration_minutes": 0, "attendance_id": attendance_id,
    }
    return jsonify(event_id=event_id, device_id=device_id, results=[result])
