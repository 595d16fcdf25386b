"""Fixtures of the express lane tests: the app's configuration (a connection per thread, rate limits), the
test Redis database, warmed tokens and scans sent at once.

A token is "warmed" by one request first: a token whose use was not recorded lately goes the normal way,
which records it; the lane takes only tokens whose use was recorded lately.
"""

from __future__ import annotations

import pytest

from tests.checkin.api.express.lane_support import REDIS_URL, THREADS
from tests.ops import helpers as ops_helpers
from tests.parallel import pool_for, start_together
from tests.support import REDIS

captured = ops_helpers.captured  # the production log handler, writing to a StringIO


@pytest.fixture
def app_overrides(request):
    """One connection per thread (concurrency tests); the rate-limit tests add theirs (see `limited`)."""
    overrides = {**pool_for(THREADS), **getattr(request, "param", {})}
    if overrides.get("RATELIMIT_STORAGE_URI") == REDIS_URL:
        request.getfixturevalue("no_scan_counts_in_redis")
    return overrides


@pytest.fixture
def no_scan_counts_in_redis():
    """The test Redis database without counts of POST /scans, before and after the test. (A key prefix of the
    test's own would not do: the process-wide limiter keeps the RATELIMIT_KEY_PREFIX of the first app made.)"""
    import redis

    def forget():
        connection = redis.Redis(*REDIS, db=15)
        try:
            for key in connection.scan_iter("*api.create_scans*"):
                connection.delete(key)
        finally:
            connection.close()

    forget()
    yield
    forget()


@pytest.fixture
def warm(event):
    """warm(api) -> api, after one request that records its token's use (the lane takes only such tokens)."""

    def make(api):
        api.get(f"/events/{event.id}", expect=200)
        return api

    return make


@pytest.fixture
def express_scanner(warm, scanner):
    """The coordinator's scanner app, its token warmed: its plain live check-ins go the express lane."""
    return warm(scanner)


@pytest.fixture
def post_together(express_scanner, make_client, document):
    """post_together(bodies, meanwhile=None) -> the answers (all 200) to POST /scans of each body, sent at once,
    each from its own thread and client with the warmed scanner's token; `meanwhile`: one more worker(wait)."""

    def sender(body: dict):
        api = type(express_scanner)(make_client(), document, token=express_scanner.token)

        def send(wait):
            wait()
            return api.post("/scans", json=body)

        return send

    def post(bodies: list[dict], meanwhile=None) -> list:
        answers = start_together([sender(body) for body in bodies] + ([meanwhile] if meanwhile else []))
        answers = answers[: len(bodies)]
        assert not [a for a in answers if isinstance(a, Exception) or a.status_code != 200], answers
        return answers

    return post
