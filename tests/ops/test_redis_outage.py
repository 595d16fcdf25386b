"""Redis stops and comes back: the site keeps working on per-process rate limits, says so, and shares them again.

The test starts a Redis server of its own on a free port (Debian's redis-server), points the app's rate-limit
storage at it, and stops and restarts that server while logging in, scanning a badge and opening pages.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from checkin.tokens import badge_token
from tests.ops.helpers import free_port, wait_until

REDIS_SERVER = shutil.which("redis-server")

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs Debian's redis-server (apt-get install redis)")

PREFIX = f"outage-{uuid.uuid4().hex[:8]}"


class RedisServer:
    """A throw-away redis-server on 127.0.0.1:`port` that keeps nothing on disk."""

    def __init__(self, port: int, directory) -> None:
        self.port, self.directory, self.process = port, directory, None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=10, what="redis-server to answer")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
        wait_until(lambda: not self.answers(), timeout=10, what="redis-server to stop")

    def stored_keys(self) -> list[str]:
        import redis

        connection = redis.Redis(port=self.port, decode_responses=True)
        try:
            return list(connection.scan_iter(f"*{PREFIX}*"))
        finally:
            connection.close()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_overrides(redis_server):
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_server.port}/0",
        "RATELIMIT_KEY_PREFIX": PREFIX,
        "LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes",
    }


def wrong_logins(client, mobile: str, count: int) -> list[int]:
    return [
        client.post("/login", data={"mobile": mobile, "password": "not-the-password"}).status_code for _ in range(count)
    ]


def scan(client, scene, now) -> dict:
    response = client.post(
        "/api/v1/scans",
        json={
            "event_id": scene.event.id,
            "device_id": "gate-1",
            "scans": [{"badge_token": badge_token(scene.volunteer.id, now=now), "client_scan_id": uuid.uuid4().hex}],
        },
        headers={"Authorization": f"Bearer {scene.api_token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"][0]


def test_the_site_works_through_a_redis_outage_and_shares_limits_again(
    app, client, make_client, scene, redis_server, make_user, now, caplog
):
    caplog.set_level(logging.INFO)
    first, second = make_user(name="甲"), make_user(name="乙")

    # Redis up: the failed logins are counted in Redis, shared by every process.
    assert wrong_logins(client, first.mobile, 2) == [401, 401]
    assert any(first.mobile in key or "login" in key for key in redis_server.stored_keys())
    assert client.get("/readyz").get_json()["redis"] == "ok"

    redis_server.stop()
    # Redis down: logins, pages and a badge scan still answer; limits count in this process's memory.
    assert wrong_logins(client, second.mobile, 4) == [401, 401, 401, 429]
    assert client.get("/").status_code == 200
    assert client.get("/events/").status_code == 200
    assert scan(client, scene, now)["action"] == "check_in"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    assert ready.get_json()["redis"] == "degraded"
    fallbacks = [r for r in caplog.records if "falling back to in-memory storage" in r.getMessage()]
    assert len(fallbacks) == 1, "the fallback is logged once, not on every request"

    redis_server.start()  # an empty Redis on the same port, as after a restart
    assert client.get("/readyz").get_json()["redis"] == "ok"
    # Flask-Limiter probes the storage again after a back-off of a few seconds, then counts in Redis again.
    deadline = time.monotonic() + 40
    while not redis_server.stored_keys() and time.monotonic() < deadline:
        client.post("/login", data={"mobile": first.mobile, "password": "not-the-password"})
        time.sleep(0.5)
    assert redis_server.stored_keys(), "after Redis returned, the limits are counted there again"
    assert any("storage recovered" in r.getMessage() for r in caplog.records)
    # Shared again: another client (as another host would) is refused once the shared count is spent.
    other = make_client()
    statuses = wrong_logins(other, second.mobile, 4)
    assert statuses[-1] == 429 and statuses[0] == 401
    again = scan(client, scene, now)
    assert again["result"] == "repeat", again  # the same badge again: counted through Redis, answered as before
