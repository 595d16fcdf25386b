"""The express lane of POST /api/v1/scans (api/express.py) under load: rate limits, races and metrics.

These tests prove that rate limits (in memory, and in Redis as in production) count each request once,
whichever lane answers it, and that the lane answers with rate limiting turned off; that concurrent scans
(real threads on PostgreSQL) check a volunteer in once; and that metrics and the access log count an express
check-in as they count one that went the normal way. The lane never runs on SQLite, so the module is skipped
there.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from limits.storage import RedisStorage
from prometheus_client import REGISTRY
from sqlalchemy import text

from app.extensions import limiter
from app.permissions import Role
from app.timeutil import utcnow
from tests.checkin.api.express.lane_support import (
    FORGED,
    REDIS_URL,
    THREADS,
    lane,
    limited,
    live,
    remaining,
    results,
    rows,
    through,
)
from tests.support import is_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not is_postgres(),
        reason="the express lane runs on PostgreSQL only: set TEST_DATABASE_URL=postgresql+psycopg://...",
    ),
]


# -- 1. rate limits count each request once, whichever lane answers it ---------------------------------


@pytest.mark.parametrize("app_overrides", limited(API_SCAN_RATE_LIMIT_PER_USER="4 per minute"), indirect=True)
def test_the_rate_limit_counts_requests_of_both_lanes(
    app, express_scanner, scan_body, badge, make_user, assign, shift, attendances, scan_log
):
    assert isinstance(limiter.storage, RedisStorage) == (app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL)
    first, second, late = (make_user(name=name) for name in ("甲", "乙", "迟到者"))
    for person in (first, second, late):
        assign(shift, person)
    steps = [
        (1, live(badge(first), "c1")),
        (0, live(badge(first), "c2")),  # a check-in, then its repeat
        (1, live(badge(second), "c3")),
        (0, live(FORGED, "c4")),
    ]  # (1: the lane answers)
    resets = set()
    for left, (express, scan) in zip((3, 2, 1, 0), steps, strict=False):
        with lane(express=express, passed=1 - express):
            response = express_scanner.post("/scans", json=scan_body(scan), expect=200)
        assert (response.headers["X-RateLimit-Limit"], remaining(response)) == ("4", left), scan
        resets.add(int(response.headers["X-RateLimit-Reset"]))
    assert time.time() < min(resets) and max(resets) - min(resets) <= 1  # one window, whichever lane answered

    with lane(express=1):  # a check-in the lane would answer: refused by its own count (429)
        express_throttled = express_scanner.post("/scans", json=scan_body(live(badge(late), "c5")), expect=429)
    with lane(passed=1):  # a re-sent scan, for the normal path: refused there alike
        normal_throttled = express_scanner.post("/scans", json=scan_body(live(badge(first), "c1")), expect=429)
    for throttled in (express_throttled, normal_throttled):
        assert throttled.get_json()["error"]["code"] == "too_many_requests"
        assert (throttled.headers["X-RateLimit-Limit"], remaining(throttled)) == ("4", 0)
        assert abs(int(throttled.headers["X-RateLimit-Reset"]) - min(resets)) <= 1
    waits = [int(throttled.headers["Retry-After"]) for throttled in (express_throttled, normal_throttled)]
    assert 0 < waits[0] <= 60 and abs(waits[0] - waits[1]) <= 1
    assert attendances(late) == [] and scan_log(client_scan_id="c5") == []


@pytest.mark.parametrize("lane_name", ["express", "normal"])
@pytest.mark.parametrize(
    "app_overrides",
    limited(API_SCAN_RATE_LIMIT_PER_USER="3 per minute", API_SCAN_RATE_LIMIT_PER_ADDRESS="5 per minute"),
    indirect=True,
)
def test_a_throttled_scanner_leaves_its_address_limit_to_colleagues(
    app, warm, express_scanner, token_api, make_user, orgs, scan_body, badge, assign, shift, lane_name
):
    """Two coordinators behind one address (a mobile network): the requests refused by the first one's own limit
    do not count against the address (Flask-Limiter stops at the first limit breached), so the second one still
    has the rest of the address's limit, whichever lane answers."""
    colleague = warm(
        token_api(
            make_user(name="第二协调", organization=orgs["nancheng"], role=Role.COORDINATOR, role_org=orgs["nancheng"])
        )
    )
    people = [make_user(name=f"排队{n}") for n in range(7)]
    for person in people:
        assign(shift, person)
    with through(app, lane_name, express=7):  # 3 + 2 check-ins and the lane's two 429s
        statuses = [
            express_scanner.post("/scans", json=scan_body(live(badge(person), f"a{n}"))).status_code
            for n, person in enumerate(people[:5])
        ]
        assert statuses == [200, 200, 200, 429, 429]
        # the address has counted 3 requests: the colleague may send 2 more
        for n, person in enumerate(people[5:]):
            answer = colleague.post("/scans", json=scan_body(live(badge(person), f"b{n}")))
            assert answer.status_code == 200, (n, answer.get_json())


@pytest.mark.parametrize("lane_name", ["express", "normal"])
@pytest.mark.parametrize("app_overrides", limited(API_SCAN_RATE_LIMIT_PER_USER="4 per minute"), indirect=True)
def test_a_scan_id_reused_for_two_volunteers_at_once_counts_once_per_request(
    app,
    db,
    express_scanner,
    post_together,
    scan_body,
    badge,
    make_user,
    assign,
    shift,
    event,
    attendances,
    scan_log,
    lane_name,
):
    """Two volunteers scanned with the same (device, client id) at the same moment (a scanner app reusing its ids):
    the second write breaks the unique index, and the normal path answers it with the first scan's result. Each
    request counts once against the rate limit, whichever lane took it first."""
    first, second = make_user(name="先到"), make_user(name="后到")
    for person in (first, second):
        assign(shift, person)
    bodies = [scan_body(live(badge(person), "same-id")) for person in (first, second)]
    with through(app, lane_name, express=1, passed=1), event_row_held(db, event) as release_once_waiting:
        answers = post_together(bodies, meanwhile=release_once_waiting(len(bodies)))
    assert results(answers[0]) == results(answers[1]) and results(answers[0])[0]["action"] == "check_in"
    assert len(scan_log(client_scan_id="same-id")) == 1
    assert len(attendances(first)) + len(attendances(second)) == 1
    after = express_scanner.post("/scans", json=scan_body(live(FORGED, "c3")), expect=200)
    assert remaining(after) == 4 - 3  # the two requests and this one


@pytest.mark.parametrize(
    "app_overrides", [pytest.param({"RATELIMIT_ENABLED": False}, id="rate-limiting-off")], indirect=True
)
def test_the_lane_answers_with_rate_limiting_off(
    monkeypatch, express_scanner, scan_body, badge, volunteer, shift, assignment, attendances
):
    """A site whose proxy limits requests may turn Flask-Limiter off: the lane still answers, without rate-limit
    headers (it once asked the disabled limiter for its storage, which asserts: a 500). The process-wide limiter
    is on again for the next test's app: Limiter.init_app takes RATELIMIT_ENABLED from each app's config, and
    app.config.Config sets it."""
    assert not limiter.enabled
    # A disabled init_app returns early and keeps the storage of the apps made before (the template database's);
    # a process whose apps all have rate limiting off never had one, which is what `limiter.storage` asserts.
    monkeypatch.setattr(limiter, "_storage", None)
    monkeypatch.setattr(limiter, "_limiter", None)
    with lane(express=1):
        response = express_scanner.post("/scans", json=scan_body(live(badge(volunteer))), expect=200)
    [result] = results(response)
    assert (result["ok"], result["action"], result["result"], result["shift"]["id"]) == (
        True,
        "check_in",
        "ok",
        shift.id,
    )
    assert [attendance.id for attendance in attendances(volunteer)] == [result["attendance_id"]]
    assert not [name for name in response.headers.keys() if name.startswith("X-RateLimit")]  # noqa: SIM118 - Headers iterate as (name, value) pairs


@contextmanager
def event_row_held(db, event):
    """Inside the block a transaction holds the event's row (FOR UPDATE), so a scan's write waits on it (foreign
    key check) after its reads. Yields release_once_waiting(n) -> a start_together worker that lets go of the row
    once n sessions wait on a lock: each of n concurrent scans then read the scan log before any of them wrote."""
    with db.engine.connect() as holder, db.engine.connect() as watcher:
        holder.execute(text("SELECT id FROM events WHERE id = :id FOR UPDATE"), {"id": event.id})

        def waiting() -> int:
            count = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar()
            watcher.rollback()  # pg_stat_activity is read once per transaction
            return count

        def release_once_waiting(count: int):
            def release(wait):
                wait()
                deadline = time.monotonic() + 30
                while waiting() < count and time.monotonic() < deadline:
                    time.sleep(0.02)
                holder.rollback()

            return release

        yield release_once_waiting


# -- 2. concurrency: real threads on PostgreSQL -----------------------------------------------------------


def test_parallel_scans_of_one_volunteer_check_in_once(
    post_together, scan_body, badge, volunteer, assignment, attendances, scan_log
):
    """Serialized on the volunteer's lock, the first scan checks in through the lane; the lane leaves every other
    one to the normal path, which answers a repeat."""
    token = badge(volunteer, utcnow())
    with lane(express=1, passed=THREADS - 1):
        answers = post_together([scan_body(live(token, f"s{n}")) for n in range(THREADS)])
    outcomes = sorted((results(a)[0]["action"], results(a)[0]["result"]) for a in answers)
    assert outcomes == [("check_in", "ok")] + [("none", "repeat")] * (THREADS - 1)
    [attendance] = attendances(volunteer)
    assert attendance.status == "open" and len(scan_log(user_id=volunteer.id)) == THREADS


def test_parallel_resends_of_one_scan_apply_it_once(
    post_together, scan_body, badge, volunteer, assignment, attendances, scan_log
):
    resends = 12
    with lane(express=1, passed=resends - 1):
        answers = post_together([scan_body(live(badge(volunteer, utcnow()), "flaky-1"))] * resends)
    first = results(answers[0])
    assert all(results(a) == first for a in answers) and first[0]["action"] == "check_in"
    assert len(attendances(volunteer)) == 1 and len(scan_log(client_scan_id="flaky-1")) == 1


def test_parallel_scans_of_different_volunteers_all_go_the_lane(
    db, post_together, scan_body, badge, make_user, make_position, make_shift, event, assign, now
):
    """Each request locks its own volunteer and writes its own rows: nothing makes one wait for or break another,
    so the lane answers every one."""
    shift = make_shift(make_position(event, name="入口"), starts_at=now - timedelta(hours=1), capacity=THREADS)
    people = [make_user(name=f"入口{n}") for n in range(THREADS)]
    for person in people:
        assign(shift, person)
    with lane(express=THREADS):
        answers = post_together([scan_body(live(badge(p, utcnow()), f"e{n}")) for n, p in enumerate(people)])
    assert all(results(a)[0]["action"] == "check_in" for a in answers)
    assert sorted(results(a)[0]["volunteer"]["id"] for a in answers) == sorted(p.id for p in people)
    open_stays = rows(db, "attendances", shift_id=shift.id, status="open")
    assert sorted(row["user_id"] for row in open_stays) == sorted(p.id for p in people)


# -- 3. metrics and the access log ----------------------------------------------------------------------


def counters() -> tuple[float, float, float]:
    """(check-ins by badge, badge scans ok, POST /scans answered 200) as Prometheus reports them."""

    def value(name, labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return (
        value("volunteers_checkins_total", {"method": "badge"}),
        value("volunteers_scans_total", {"method": "badge", "result": "ok"}),
        value("volunteers_http_requests_total", {"method": "POST", "endpoint": "api.create_scans", "status": "200"}),
    )


def test_metrics_and_the_access_log_count_an_express_check_in_alike(
    app, express_scanner, scan_body, badge, make_user, assign, shift, coordinator, captured
):
    twins = {"express": make_user(name="计数甲"), "normal": make_user(name="计数乙")}
    for twin in twins.values():
        assign(shift, twin)
    for lane_name, twin in twins.items():
        before = counters()
        with through(app, lane_name, express=1):
            response = express_scanner.post("/scans", json=scan_body(live(badge(twin), lane_name)), expect=200)
        assert results(response)[0]["action"] == "check_in"
        assert [b - a for a, b in zip(before, counters(), strict=False)] == [1, 1, 1], lane_name
        [access] = [
            line
            for line in captured()
            if line["logger"] == "app.access" and line["request_id"] == response.headers["X-Request-ID"]
        ]
        assert (access["path"], access["status"], access["endpoint"], access["user_id"]) == (
            "/api/v1/scans",
            200,
            "api.create_scans",
            coordinator.id,
        ), lane_name
