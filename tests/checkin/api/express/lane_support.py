"""Constants and helpers of the express lane tests (tests/checkin/api/express/).

The lane's counter (api.express.LANE) tells which lane answered a request: `lane` asserts how many requests the
lane answered and how many it passed to the normal path; why it passed one is the lane's own business and is
not asserted. `through` sends a block's requests either way, to compare the two lanes.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import text

from api.express import LANE
from tests.support import REDIS, redis_answers

THREADS = 20
REDIS_URL = f"redis://{REDIS[0]}:{REDIS[1]}/15"
FORGED = "B.1.2.AAAAAAAAAAAAAAAAAAAAAA"


def limited(**settings) -> list:
    """Indirect `app_overrides` parameters: these scan limits counted in memory, and in Redis (production's storage,
    where the lane counts the limits itself)."""
    redis = pytest.mark.skipif(not redis_answers(), reason="needs Redis at 127.0.0.1:6379")
    return [
        pytest.param(settings, id="memory"),
        pytest.param({**settings, "RATELIMIT_STORAGE_URI": REDIS_URL}, id="redis", marks=redis),
    ]


def lane_counts() -> dict[str, float]:
    return {
        sample.labels["outcome"]: sample.value
        for metric in LANE.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


@contextmanager
def lane(express: int = 0, passed: int = 0):
    """Inside the block the lane answered `express` requests (checked in, or refused with 429) and passed `passed`
    to the normal path (whatever its reason). Yields the counter's changes by outcome, filled in when the block
    ends."""
    before, changes = lane_counts(), {}
    yield changes
    changes.update({k: v - before.get(k, 0) for k, v in lane_counts().items() if v != before.get(k, 0)})
    answered = changes.get("express", 0) + changes.get("rate_limited", 0)
    assert (answered, sum(changes.values()) - answered) == (express, passed), changes


@contextmanager
def lane_off(app):
    """CHECKIN_EXPRESS_LANE off inside the block: every request takes the normal path."""
    app.config["CHECKIN_EXPRESS_LANE"] = False
    try:
        yield
    finally:
        app.config["CHECKIN_EXPRESS_LANE"] = True


@contextmanager
def through(app, lane_name: str, **counts: int):
    """The block's requests go the lane as configured ("express": it counts `counts`, as `lane` says) or, the lane
    turned off, all the normal way ("normal")."""
    if lane_name == "express":
        with lane(**counts) as changes:
            yield changes
    else:
        with lane_off(app), lane() as changes:
            yield changes


def live(token: str, client_scan_id: str = "c1", **fields) -> dict:
    return {"client_scan_id": client_scan_id, "badge_token": token, **fields}


def results(response) -> list[dict]:
    return response.get_json()["results"]


def scan_one(api, scan_body, scan: dict, **kw) -> dict:
    """POST one scan (200 expected) and return its result."""
    [result] = results(api.post("/scans", json=scan_body(scan, **kw), expect=200))
    return result


def rows(db, table: str, **where) -> list[dict]:
    """Every column of the table's rows matching column = value, read with SQL (naive UTC times), by id."""
    condition = " AND ".join(f"{name} = :{name}" for name in where)
    return [
        dict(row)
        for row in db.session.execute(text(f"SELECT * FROM {table} WHERE {condition} ORDER BY id"), where).mappings()
    ]


def remaining(response) -> int:
    return int(response.headers["X-RateLimit-Remaining"])
