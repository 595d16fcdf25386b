"""When something goes wrong under the express lane, the scanner gets what the normal path would have given.

- a scan that commits through the normal path between the lane's snapshot and its lock sends the lane's
  scan the normal way too (the `moved` check), even where no unique index would have stopped the lane;
- Redis down: the lane leaves the request to the normal path, where Flask-Limiter falls back to memory;
- a PostgreSQL error inside the lane (here a lock timeout) gives the normal path's 503, not a 500;
- a configured body limit smaller than the lane's own is the normal path's 413.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import redis
from sqlalchemy import text

from app.extensions import limiter
from app.timeutil import utcnow
from checkin.tokens import parse_badge_token
from tests.checkin.api.express.lane_support import REDIS_URL, lane, lane_off, live, remaining, results
from tests.support import is_postgres, redis_answers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not is_postgres(),
        reason="the express lane runs on PostgreSQL only: set TEST_DATABASE_URL=postgresql+psycopg://...",
    ),
]

NOBODY_LISTENS = "redis://127.0.0.1:6390/15"


def post_raw(api, body: dict):
    """POST /scans without the OpenAPI response check (a 503 is not a documented answer of the operation)."""
    return api.client.open("/api/v1/scans", method="POST", json=body, headers={"Authorization": f"Bearer {api.token}"})


def wait_for_a_lock_wait(db, deadline_seconds: float = 20) -> None:
    """Return once some session of this database waits on a lock (the lane's request, blocked)."""
    with db.engine.connect() as watcher:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar()
            watcher.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the lane's request never waited on the volunteer's lock")


def test_a_scan_committed_while_the_lane_waits_sends_it_the_normal_way(
    app, db, express_scanner, scan_body, badge, volunteer, shift, assignment, coordinator
):
    """The holder plays a normal-path scan at another device: it locks the volunteer as lock_and_load_volunteer
    does, and leaves a closed stay with an accepted scan of the same badge token. Nothing unique stops a second
    check-in, but the badge token was used at another device: the normal path refuses it (token_replayed)."""
    token = badge(volunteer)
    digest = parse_badge_token(token, now=utcnow()).digest
    at = utcnow().replace(tzinfo=None)
    answer = {}

    def send():
        with app.app_context():
            answer["response"] = post_raw(express_scanner, scan_body(live(token, "mine")))

    with db.engine.connect() as holder, lane(passed=1):
        holder.execute(text("UPDATE users SET signup_serial = signup_serial + 1 WHERE id = :id"), {"id": volunteer.id})
        sender = threading.Thread(target=send)
        sender.start()
        wait_for_a_lock_wait(db)
        stay = holder.execute(
            text(
                "INSERT INTO attendances (user_id, event_id, shift_id, assignment_id, checked_in_at, checked_out_at, "
                "status, check_in_method, offline, outside_radius, conflict, note, created_at, updated_at) VALUES "
                "(:u, :e, :s, :a, :t0, :t1, 'closed', 'badge', true, false, false, '', :t1, :t1) RETURNING id"
            ),
            {
                "u": volunteer.id,
                "e": shift.event_id,
                "s": shift.id,
                "a": assignment.id,
                "t0": at - timedelta(hours=1),
                "t1": at - timedelta(minutes=30),
            },
        ).scalar()
        holder.execute(
            text(
                "INSERT INTO scans (event_id, user_id, attendance_id, method, action, result, device_id, client_scan_id, "
                "scanned_at, received_at, offline, scanned_by_id, token_digest, note) VALUES (:e, :u, :stay, 'badge', "
                "'check_out', 'ok', 'gate-2', 'other', :t, :t, true, :by, :d, '')"
            ),
            {"e": shift.event_id, "u": volunteer.id, "stay": stay, "t": at, "by": coordinator.id, "d": digest},
        )
        holder.commit()
        sender.join(30)
    assert answer["response"].status_code == 200
    assert results(answer["response"])[0]["code"] == "token_replayed"


@pytest.mark.parametrize("app_overrides", [{"RATELIMIT_STORAGE_URI": NOBODY_LISTENS}], indirect=True)
def test_with_redis_down_the_scan_is_still_checked_in(
    monkeypatch, express_scanner, scan_body, badge, make_user, assign, shift, attendances
):
    monkeypatch.setattr(limiter, "_storage_dead", False)  # as a worker finds it: Redis was up when it started
    people = [make_user(name=f"无缓存{n}") for n in range(2)]
    for person in people:
        assign(shift, person)
    with lane(passed=1):
        first = post_raw(express_scanner, scan_body(live(badge(people[0]), "c1")))
    assert first.status_code == 200 and results(first)[0]["action"] == "check_in"
    assert limiter._storage_dead  # the normal path fell back to counting in memory
    second = post_raw(express_scanner, scan_body(live(badge(people[1]), "c2")))
    assert second.status_code == 200 and results(second)[0]["action"] == "check_in"
    assert all(len(attendances(person)) == 1 for person in people)


@pytest.mark.skipif(not redis_answers(), reason="needs Redis at 127.0.0.1:6379")
@pytest.mark.parametrize(
    "app_overrides",
    [{"RATELIMIT_STORAGE_URI": REDIS_URL, "API_SCAN_RATE_LIMIT_PER_USER": "5 per minute"}],
    indirect=True,
)
def test_redis_forgetting_the_counting_script_costs_nothing(
    express_scanner, scan_body, badge, make_user, assign, shift, attendances
):
    """Redis restarted (or its scripts flushed) between two scans: the lane sends the script again and counts."""
    people = [make_user(name=f"重启后{n}") for n in range(2)]
    for person in people:
        assign(shift, person)
    with lane(express=1):
        first = express_scanner.post("/scans", json=scan_body(live(badge(people[0]), "c1")), expect=200)
    redis.Redis.from_url(REDIS_URL).script_flush()
    with lane(express=1):
        second = express_scanner.post("/scans", json=scan_body(live(badge(people[1]), "c2")), expect=200)
    assert [remaining(first), remaining(second)] == [4, 3]
    assert all(len(attendances(person)) == 1 for person in people)


LOCK_TIMEOUT = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"options": "-c lock_timeout=300"}}
}


@pytest.mark.parametrize("app_overrides", [LOCK_TIMEOUT], indirect=True)
def test_a_database_error_in_the_lane_answers_as_the_normal_path(
    app, db, express_scanner, scan_body, badge, volunteer, assignment, attendances
):
    answers = []
    with db.engine.connect() as holder:  # another transaction keeps the volunteer past the lock timeout
        holder.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": volunteer.id})
        for client_id in ("lane", "normal"):
            with lane_off(app) if client_id == "normal" else lane(passed=1):
                answers.append(post_raw(express_scanner, scan_body(live(badge(volunteer), client_id))))
        holder.rollback()
    statuses = [(a.status_code, a.get_json()["error"]["code"], "Retry-After" in a.headers) for a in answers]
    assert statuses[0] == statuses[1] == (503, "database_unavailable", True), statuses
    assert attendances(volunteer) == []
    after = post_raw(express_scanner, scan_body(live(badge(volunteer), "after")))  # the pool recovered
    assert after.status_code == 200 and results(after)[0]["action"] == "check_in"


@pytest.mark.parametrize("app_overrides", [{"API_SCANS_MAX_BODY_BYTES": 100}], indirect=True)
def test_a_small_body_limit_holds_in_both_lanes(
    app, express_scanner, scan_body, badge, volunteer, assignment, attendances
):
    body = scan_body(live(badge(volunteer)))
    with lane(passed=1):
        through_lane = post_raw(express_scanner, body)
    with lane_off(app):
        normal = post_raw(express_scanner, body)
    assert through_lane.status_code == normal.status_code == 413
    assert attendances(volunteer) == []
