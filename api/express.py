"""The express lane of POST /api/v1/scans: a coordinator's live badge scan that is a plain check-in, on PostgreSQL.

At an expo's gates nearly every scan is the same: a scanner with a bearer token sends one live
scan of a volunteer who is on a shift of the event that is open for check-in and is not checked
in anywhere. This lane serves exactly that case with raw SQL on a pooled connection and no ORM
objects — two round trips to PostgreSQL and one to Redis — instead of
the general engine's eight statements (checkin.scanning.engine):

  A. lock the volunteer and, in the same statement, read the bearer token, its user and roles, the
     event, the volunteer's assignments on its shifts, whether the device sent this client id or
     the badge token was accepted before, and whether the volunteer has a stay at the event or an
     open one anywhere (_LOCK_AND_READ says why one statement is enough);
  B. count the endpoint's rate limits (one Redis round trip, as Flask-Limiter would count them);
  C. insert the attendance and its scan-log row in one statement, sent together with the commit.

It runs as the app's second hook (after the request id's; before CSRF, Flask-Limiter's own hook and
api.auth.authenticate: api/__init__.py), with its own pool (no pre-ping: app._add_express_engine) and
its own Redis connection, and it either answers the request completely or leaves it untouched
(rolled back, no rate limit counted) for the normal path, which then does everything as if the lane
did not exist. It takes the request only when it
can prove the general engine would make the same check-in: the body holds one live scan with
nothing but client_scan_id and badge_token (plus `offline: false` or a valid `scanned_at`, which
a live scan ignores), valid for the endpoint's schema; the token is active, its user may still
log in, and its last use was recorded within api.tokens.TOUCH_INTERVAL; the caller manages the
event's organizer; the event is published, allows no walk-ins, has no geofence and no shift
fence (checkin.scanning.geofence); the badge token is valid; the volunteer is enabled, on an assignment
whose shift is open for check-in now, has no stay at this event nor an open one elsewhere, and
neither this scan nor this badge token was seen before. Everything else — check-outs, repeats,
conflicts, refusals (which the scan log records), 4xx answers, offline queues, walk-ins,
geofences — goes the normal way. The answer is the same document, the same metrics count it, and
tests/checkin/api/express/ runs the same scenarios through both lanes and compares
answers, rows, rate limits and headers.

A concurrent scan of the same volunteer waits on the lock; the unique indexes (one open attendance
per volunteer, one scan per device and client id) are the backstop: a violation rolls the lane
back, gives its rate-limit counts back, and the normal path answers. So does any other database
error (a lock timeout, a dropped connection: the normal path answers 503 or succeeds on a fresh
connection) and a failing Redis (the normal path's Flask-Limiter falls back to memory).

SQLite (the embedded default, one site) always takes the normal path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from flask import Response, current_app, g, jsonify, request
from flask_limiter import RateLimitExceeded, RequestLimit
from flask_limiter.util import get_qualified_name
from limits.storage import RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from limits.util import WindowStats
from prometheus_client import Counter
from redis import Redis, RedisError
from redis.connection import ConnectionInterface
from redis.exceptions import NoScriptError
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection

from api.schemas import DATE_TIME, MAX_ID
from api.tokens import TOKEN_PREFIX, TOUCH_INTERVAL, hash_token
from app.extensions import db, limiter
from app.ops.observability import child
from app.permissions import can_manage, remember_grants
from app.timeutil import from_stored, to_stored, utcnow
from checkin.metrics import CHECKINS, SCANS
from checkin.refusals import ScanRefused
from checkin.scanning.engine import ScanResult, check_in_message
from checkin.scanning.geofence import may_fence
from checkin.scanning.results import scan_answer
from checkin.scanning.services import DEVICE_ID
from checkin.scanning.shift_choice import choose_open
from checkin.tokens import BadgeClaim, parse_badge_token

if TYPE_CHECKING:
    from psycopg import Cursor

ENDPOINT = "api.create_scans"
#: a live scan's body is small; bigger ones (and chunked ones) take the normal path, which limits them
MAX_BODY_BYTES = 2048
_SCAN_KEYS = {"client_scan_id", "badge_token", "scanned_at", "offline"}

log = logging.getLogger(__name__)
LANE = Counter(
    "volunteers_scan_express",
    "POST /api/v1/scans requests offered to the express lane, by outcome "
    "(express: answered there; anything else: the reason it went the normal way).",
    ["outcome"],
)

# A: in one round trip, lock the volunteer and read the token, its user and roles, the event, and what the
# check-in depends on: the volunteer's assignments on the event's shifts (one row each, or one row of nulls),
# whether the device sent this client id before or the badge token was accepted before, and whether the
# volunteer has an attendance at the event or an open one anywhere. The lock is the one the normal path's
# `UPDATE users SET signup_serial ...` takes (FOR NO KEY UPDATE), so each waits for the other, and rows that
# merely refer to the volunteer can still be inserted meanwhile. The statement reads one snapshot, taken
# before the lock: `moved` compares the locked row (its newest version) with the snapshot's, so a scan that
# committed in between through the normal path (whose lock bumps signup_serial) sends this one that way too;
# one that committed through this lane made a check-in, which the unique indexes hold against a second.
_LOCK_AND_READ = """
SELECT t.id AS token_id, t.last_used_at, t.revoked_at, u.id AS user_id, u.is_disabled AS user_disabled,
       u.password_hash IS NOT NULL AS can_log_in,
       (SELECT string_agg(r.role || ':' || o.path, '|') FROM role_grants r
          JOIN organizations o ON o.id = r.organization_id WHERE r.user_id = u.id) AS grants,
       e.id AS event_id, e.status, e.kind, e.allow_walk_ins, e.checkin_opens_minutes,
       e.latitude IS NOT NULL AND e.longitude IS NOT NULL AND COALESCE(e.checkin_radius_m, 0) <> 0 AS fenced,
       eo.path AS event_path,
       v.id AS volunteer_id, v.name AS volunteer_name, v.volunteer_number, v.is_disabled AS volunteer_disabled,
       v.signup_serial IS DISTINCT FROM (SELECT w.signup_serial FROM users w WHERE w.id = %(volunteer)s) AS moved,
       EXISTS (SELECT 1 FROM scans x WHERE x.device_id = %(device)s AND x.client_scan_id = %(client)s)
       OR EXISTS (SELECT 1 FROM scans x WHERE x.token_digest = %(digest)s AND x.user_id = %(volunteer)s
                  AND x.result IN ('ok', 'repeat', 'conflict')) AS seen,
       EXISTS (SELECT 1 FROM attendances y WHERE y.user_id = %(volunteer)s AND y.status <> 'voided'
               AND (y.event_id = %(event)s OR y.status = 'open')) AS stayed,
       a.id AS assignment_id, a.shift_id, s.starts_at, s.ends_at, p.name AS position_name
FROM api_tokens t
JOIN users u ON u.id = t.user_id
LEFT JOIN events e ON e.id = %(event)s
LEFT JOIN organizations eo ON eo.id = e.organization_id
LEFT JOIN LATERAL (SELECT id, name, volunteer_number, is_disabled, signup_serial FROM users
                   WHERE id = %(volunteer)s FOR NO KEY UPDATE) AS v ON true
LEFT JOIN (assignments a
           JOIN shifts s ON s.id = a.shift_id AND NOT s.is_cancelled
           JOIN positions p ON p.id = s.position_id)
       ON a.user_id = %(volunteer)s AND s.event_id = %(event)s AND a.status IN ('assigned', 'completed')
WHERE t.token_hash = %(token_hash)s
"""

# C: the attendance and its scan-log row (one round trip), as checkin.scanning.engine._check_in writes them.
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
    """The lane is on (config CHECKIN_EXPRESS_LANE) and the database is PostgreSQL (the lane's pool exists)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is a LocalProxy; Flask types it as the Flask app it stands for
    return bool(app.config.get("CHECKIN_EXPRESS_LANE", True)) and "express_engine" in app.extensions


def _live_scan(body: object) -> tuple[int, str, str, str] | None:
    """(event id, device id, client scan id, badge token) of a body holding one plain live scan, else None.

    Whatever this accepts, the endpoint's schema (api/scan_schemas.py) accepts too: one BadgeScan with a
    client id and a badge token, `offline` false or absent, a valid `scanned_at` or none, no position."""
    if not isinstance(body, dict) or body.keys() != {"event_id", "device_id", "scans"}:
        return None
    event_id, device, scans = body["event_id"], body["device_id"], body["scans"]
    if type(event_id) is not int or not 0 < event_id <= MAX_ID:
        return None
    if not isinstance(scans, list) or len(scans) != 1 or not isinstance(scans[0], dict):
        return None
    scan = scans[0]
    if not scan.keys() <= _SCAN_KEYS or scan.get("offline", False) is not False:
        return None
    client, token = scan.get("client_scan_id"), scan.get("badge_token")
    if not (
        isinstance(device, str)
        and DEVICE_ID.fullmatch(device)
        and isinstance(client, str)
        and DEVICE_ID.fullmatch(client)
        and isinstance(token, str)
    ):
        return None
    if "scanned_at" in scan and not _valid_time(scan["scanned_at"]):
        return None
    return event_id, device, client, token


def _valid_time(value: object) -> bool:
    from api.openapi import VALIDATOR  # the routes' module: imported once the blueprint exists

    return isinstance(value, str) and not VALIDATOR.check(DATE_TIME, value)[1]


def _pass(outcome: str, connection: PoolProxiedConnection | None = None) -> None:
    """Leave the request to the normal path, exactly as it came: nothing written, nothing counted."""
    if connection is not None:
        connection.rollback()
    g.pop("_login_user", None)
    g.pop("api_token_id", None)
    g.pop("_role_grants", None)
    limiter.context.reset()  # nothing seen or counted: Flask-Limiter's hooks run as if the lane had not
    LANE.labels(outcome).inc()
    return None


class _Script(NamedTuple):
    text: str
    sha: str


def _script(text: str) -> _Script:
    return _Script(text, hashlib.sha1(text.encode()).hexdigest())  # the digest EVALSHA names a script by


# Each limit's key counted as limits.storage.RedisStorage.incr counts it (its incr_expire.lua: INCRBY, and EXPIRE
# when the key is new), in order, stopping after the first limit breached as Flask-Limiter does; answers
# [count, ttl] per key counted.
_COUNT_SCRIPT = _script("""
local answers = {}
for i, key in ipairs(KEYS) do
    local current = redis.call("incrby", key, 1)
    if tonumber(current) == 1 then
        redis.call("expire", key, ARGV[2 * i - 1])
    end
    table.insert(answers, current)
    table.insert(answers, redis.call("ttl", key))
    if tonumber(current) > tonumber(ARGV[2 * i]) then
        break
    end
end
return answers
""")
# Give back one count per key (a request the lane counted, then left to the normal path, which counts it again).
_UNCOUNT_SCRIPT = _script("""
for _, key in ipairs(KEYS) do
    if redis.call("exists", key) == 1 then
        redis.call("decrby", key, 1)
    end
end
return 0
""")


class _RedisLink(threading.local):
    """The lane's own connection to the rate-limit storage's Redis, one per thread (a sync worker: one): counting
    a scan is one write and one read on it, without the client's per-command layers (its pool, retries and
    instrumentation cost several times the round trip's own CPU)."""

    connection: ConnectionInterface | None = None
    owner: tuple = ()


_link = _RedisLink()


def _run_script(storage: RedisStorage, script: _Script, keys: list, args: list) -> Any:
    """The script's answer, by EVALSHA (EVAL when Redis does not know it: restarted or flushed) on the lane's
    connection. Raises redis.RedisError; a connection that failed is closed, and the next call opens another."""
    owner = (os.getpid(), storage)
    if _link.connection is None or _link.owner != owner:
        client = cast(Redis, storage.get_connection())  # limits types its client by the commands it sends itself
        _link.connection, _link.owner = client.connection_pool.make_connection(), owner
    connection = _link.connection
    try:
        connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return connection.read_response()
        except NoScriptError:
            connection.send_command("EVAL", script.text, len(keys), *keys, *args)
            return connection.read_response()
    except BaseException:
        connection.disconnect()  # a reply may be left unread: never reuse it
        raise


def _give_back_counts() -> None:
    """Undo this request's counts (fixed windows: the only strategy configured) before leaving it to the normal
    path, which counts it itself: a request counts once, whichever lane answers it."""
    context = limiter.context
    counted = [request_limit.key for request_limit in context.view_rate_limits]
    context.reset()  # as before the lane ran (it runs before Flask-Limiter's own hook): nothing seen or counted
    strategy = limiter.limiter if counted else None
    if not isinstance(strategy, FixedWindowRateLimiter):
        return
    storage = strategy.storage
    try:
        if type(storage) is RedisStorage:
            _run_script(storage, _UNCOUNT_SCRIPT, [storage.prefixed_key(key) for key in counted], [])
        elif hasattr(storage, "decr"):  # limits' memory storage
            for key in counted:
                storage.decr(key)
    except RedisError:  # the storage failed meanwhile: the request may count twice, nothing worse
        log.warning("express lane: could not give back a rate-limit count", exc_info=True)


def _plain_limits(storage: Storage | None) -> list | None:
    """The endpoint's limits, as Flask-Limiter resolves them for the view, when the lane may count them itself:
    Redis (not a cluster: two keys, two slots), fixed windows, nothing configured that the lane does not do
    (meta limits, breach callbacks, conditional deductions, costs, request filters). None otherwise."""
    if not (
        type(storage) is RedisStorage
        and isinstance(limiter.limiter, FixedWindowRateLimiter)
        and not limiter._storage_dead
        and not limiter._request_filters
        and limiter._fail_on_first_breach
        and not limiter._meta_limits
        and not limiter._on_breach
    ):
        return None
    defaults, decorated = _resolved_limits()
    limits = sorted(
        (lim for lim in [*defaults, *decorated] if not (lim.is_exempt or lim.method_exempt)), key=lambda lim: lim.limit
    )
    if any(lim.deduct_when or lim.meta_limits or lim.on_breach or lim.deduction_amount != 1 for lim in limits):
        return None
    limiter.context.seen_limits.update(defaults)  # as Flask-Limiter's decorator: counted once per request
    return limits


def _resolved_limits() -> tuple[list, list]:
    """The endpoint's default and decorated limits as Flask-Limiter resolves them for the view. Resolving them
    parses the limit strings, so they are kept per app and per value of the settings the endpoint's limits read
    (api.routes.scans); whether each applies (exempt_when, methods, costs) is still asked on every request."""
    from api.routes.scans import SCANNER_LIMIT_SETTINGS

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is a LocalProxy; Flask types it as the Flask app it stands for
    key = (ENDPOINT, *(app.config.get(name) for name in SCANNER_LIMIT_SETTINGS))
    cache = app.extensions.setdefault("express_lane_limits", {})
    if key not in cache:
        name = get_qualified_name(app.view_functions[ENDPOINT])
        defaults, decorated = limiter.limit_manager.resolve_limits(app, ENDPOINT, request.blueprint, name, False, True)
        cache[key] = (list(defaults), list(decorated))
    return cache[key]


def _count_limits() -> None:
    """Count the request against the endpoint's rate limits, then let Flask-Limiter add the X-RateLimit headers
    and answer 429 as for any request.

    With Redis and fixed windows (production), the limits are counted in one round trip with the same keys and
    increments as Flask-Limiter's (_COUNT_SCRIPT), and the header limit's window is known from it; otherwise
    Flask-Limiter counts them itself. Raises redis.RedisError when Redis fails (the caller leaves the request to
    the normal path, where Flask-Limiter falls back to memory)."""
    storage = limiter.storage if limiter.enabled else None
    limits = _plain_limits(storage)
    if limits is None:
        try:
            limiter._check_request_limit(
                in_middleware=False, callable_name=get_qualified_name(current_app.view_functions[ENDPOINT])
            )
        except RateLimitExceeded:
            LANE.labels("rate_limited").inc()
            raise
        return
    assert isinstance(storage, RedisStorage)  # _plain_limits answers only for Redis
    endpoint = limiter.identify_request()
    requested, keys, amounts, counted_limits = [], [], [], []
    for lim in limits:
        args = [lim.key_func(), lim.scope_for(endpoint, request.method)]
        if not all(args):  # as Flask-Limiter: a limit without a key is skipped
            continue
        if limiter._key_prefix:
            args.insert(0, limiter._key_prefix)
        keys.append(storage.prefixed_key(lim.limit.key_for(*args)))
        amounts += [lim.limit.get_expiry(), lim.limit.amount]
        requested.append(RequestLimit(limiter, lim.limit, args, False, lim.shared))
        counted_limits.append(lim)
    answers = _run_script(storage, _COUNT_SCRIPT, keys, amounts)
    now = time.time()
    requested = requested[: len(answers) // 2]  # the limits after a breached one were not counted
    for index, request_limit in enumerate(requested):
        current, ttl = int(answers[2 * index]), int(answers[2 * index + 1])
        request_limit._window = WindowStats(max(ttl, 0) + now, max(0, request_limit.limit.amount - current))
        request_limit.breached = current > request_limit.limit.amount
    breached = [index for index, r in enumerate(requested) if r.breached]
    explicit = [r for r in requested if not r.shared]
    context = limiter.context
    context.view_rate_limits = requested
    shown = explicit or requested
    context.view_rate_limit = requested[breached[0]] if breached else (shown[0] if shown else None)
    if breached:
        LANE.labels("rate_limited").inc()
        raise RateLimitExceeded(counted_limits[breached[0]])


def express_scan() -> Response | None:
    """App hook before CSRF, rate limits and authentication: answer a plain live check-in here, or return None."""
    if request.endpoint != ENDPOINT or request.method != "POST" or not enabled():
        return None
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.strip().partition(" ")
    secret = secret.strip()
    length = request.content_length
    if (
        scheme.lower() != "bearer"
        or not secret.startswith(TOKEN_PREFIX)
        or len(secret) > 200
        or length is None
        or length > min(MAX_BODY_BYTES, int(current_app.config.get("API_SCANS_MAX_BODY_BYTES", MAX_BODY_BYTES)))
        or not request.is_json
        or limiter.limit_manager._application_limits
    ):  # counted by Flask-Limiter's hook, which the lane precedes
        LANE.labels("not_plain").inc()
        return None
    try:
        shape = _live_scan(json.loads(request.get_data(cache=True)))
    except (ValueError, RecursionError):
        shape = None
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
    engine = current_app.extensions["express_engine"]  # app._add_express_engine: no pre-ping
    try:
        connection = engine.raw_connection()  # the pool's connection itself: the ORM session stays untouched
    except (engine.dialect.dbapi.Error, SQLAlchemyError):  # no PostgreSQL, an exhausted pool: the normal path answers
        log.warning("express lane: no database connection, left to the normal path", exc_info=True)
        _pass("database_error")
        return None
    try:
        return _check_in(connection, secret, event_id, device_id, client_scan_id, claim, now)
    except engine.dialect.dbapi.Error:  # a lock or statement timeout, a dropped connection, ...
        log.warning("express lane: database error, left to the normal path", exc_info=True)
        _give_back_counts()
        driver = connection.driver_connection
        if driver is None or driver.closed or driver.broken:
            connection.invalidate()  # the pool opens a new one next time
            _pass("database_error")
            return None
        _pass("database_error", connection)
        return None
    finally:
        connection.close()  # back to the pool, which rolls back whatever was not committed


_COLUMNS: dict[str, tuple[str, ...]] = {}


def _records(cursor: Cursor[Any], statement: str) -> list[dict]:
    """The statement's rows as dicts by column name (psycopg's dict_row, minus reading the names on every run)."""
    names = _COLUMNS.get(statement)
    if names is None:
        assert cursor.description is not None  # the statement returns rows
        names = _COLUMNS[statement] = tuple(column.name for column in cursor.description)
    return [dict(zip(names, row, strict=False)) for row in cursor.fetchall()]


def _dbapi() -> DBAPIModule:
    """The database driver's module, whose exceptions the lane catches (looked up only when one is raised)."""
    dbapi = db.engine.dialect.dbapi
    assert dbapi is not None  # a dialect in use has loaded its driver
    return dbapi


def _check_in(
    connection: PoolProxiedConnection,
    secret: str,
    event_id: int,
    device_id: str,
    client_scan_id: str,
    claim: BadgeClaim,
    now: datetime,
) -> Response | None:
    driver = connection.driver_connection
    assert driver is not None  # an open pooled connection holds its driver's connection
    cursor = driver.cursor()
    parameters = {
        "volunteer": claim.user_id,
        "event": event_id,
        "device": device_id,
        "client": client_scan_id,
        "digest": claim.digest,
        "now": to_stored(now),
    }
    cursor.execute(_LOCK_AND_READ, {**parameters, "token_hash": hash_token(secret)})
    rows = _records(cursor, _LOCK_AND_READ)
    if not rows:
        _pass("no_token", connection)
        return None
    row = rows[0]  # the token, event and volunteer columns repeat on every assignment's row
    if row["revoked_at"] is not None or row["user_disabled"] or not row["can_log_in"]:
        _pass("no_token", connection)
        return None
    if row["last_used_at"] is None or now - from_stored(row["last_used_at"]) >= TOUCH_INTERVAL:
        _pass("token_touch", connection)  # the normal path records the token's use
        return None
    if (
        row["event_id"] is None
        or row["status"] != "published"
        or row["allow_walk_ins"]
        or row["fenced"]
        or may_fence(row["kind"])
    ):
        _pass("event", connection)
        return None
    caller = Caller(id=row["user_id"])
    remember_grants(caller.id, row["grants"])
    if not can_manage(caller, SimpleNamespace(path=row["event_path"])):
        _pass("permission", connection)
        return None
    if row["volunteer_id"] is None or row["volunteer_disabled"]:
        _pass("volunteer", connection)
        return None
    if row["moved"] or row["seen"] or row["stayed"]:  # committed meanwhile, re-sent, a used badge token, a stay
        _pass("seen", connection)
        return None
    assignments = [
        SimpleNamespace(
            id=r["assignment_id"],
            shift=SimpleNamespace(
                id=r["shift_id"],
                starts_at=from_stored(r["starts_at"]),
                ends_at=from_stored(r["ends_at"]),
                position_name=r["position_name"],
            ),
        )
        for r in rows
        if r["assignment_id"] is not None
    ]
    chosen = choose_open(
        SimpleNamespace(checkin_opens_minutes=row["checkin_opens_minutes"]), assignments, lambda a: a.shift, now
    )
    if not chosen:
        _pass("no_open_shift", connection)  # refused by the normal path, which logs why
        return None
    first = chosen[0]
    parameters["by"] = caller.id
    # From here the request is the lane's: the same limits as the view's decorators, then the write.
    g._login_user, g.api_token_id = caller, row["token_id"]
    try:
        _count_limits()
    except RedisError:  # the normal path counts in memory meanwhile (Flask-Limiter's fallback)
        log.warning("express lane: rate-limit storage failed, left to the normal path", exc_info=True)
        _pass("limit_storage", connection)
        return None
    try:
        with driver.pipeline():  # the insert and the commit in one round trip
            cursor.execute(_CHECK_IN, {**parameters, "shift": first.shift.id, "assignment": first.id})
            driver.commit()
    except _dbapi().IntegrityError:  # a unique index saw a concurrent scan first
        _give_back_counts()  # the normal path answers, and counts the request itself
        _pass("conflict", connection)
        return None
    [[attendance_id]] = cursor.fetchall()
    child(SCANS, "badge", "ok").inc()
    child(CHECKINS, "badge").inc()
    child(LANE, "express").inc()
    volunteer = SimpleNamespace(
        id=row["volunteer_id"], name=row["volunteer_name"], volunteer_number=row["volunteer_number"]
    )
    position = first.shift.position_name
    result = scan_answer(
        ScanResult(
            action="check_in",
            result="ok",
            attendance=SimpleNamespace(id=attendance_id),  # type: ignore[arg-type]  # a stand-in: scan_answer reads its id
            volunteer=volunteer,  # type: ignore[arg-type]  # a stand-in with what scan_answer reads (id, name, number)
            shift=first.shift,
            position_name=position,
            at=now,
            duration_minutes=0,
            message=check_in_message(now, position),
        ),
        client_scan_id=client_scan_id,
    )
    return jsonify(event_id=event_id, device_id=device_id, results=[result])
