"""Rate limits live in Redis when REDIS_URL is set, so every app process on every host counts together;
without it each process counts in its own memory.

Two separate app processes (as on two hosts) try wrong passwords for one account; REDIS_URL is read from the
environment at start-up exactly as in production (app/config.py). Needs the local Redis at 127.0.0.1:6379.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from tests.ops.helpers import ROOT, production_env
from tests.support import REDIS, redis_answers

SCRIPT = r"""
import json, sys
from composition import create_app
from app.extensions import limiter
url, prefix, mobile, attempts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
app = create_app("production", {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "RATELIMIT_KEY_PREFIX": prefix})
client = app.test_client()
statuses = [client.post("/login", data={"mobile": mobile, "password": "not-the-password"}).status_code
            for _ in range(attempts)]
print(json.dumps({"storage": type(limiter._storage).__name__, "uri": app.config["RATELIMIT_STORAGE_URI"],
                  "statuses": statuses}))
"""


pytestmark = pytest.mark.skipif(not redis_answers(), reason="needs Redis at 127.0.0.1:6379")


def app_process(database_url: str, keys: dict, prefix: str, mobile: str, attempts: int, redis_url: str | None) -> dict:
    """One app process (one "host") trying `attempts` wrong passwords; what it saw."""
    env = production_env(database_url, keys, LOGIN_LIMIT_PER_ACCOUNT="3 per 10 minutes", LOG_LEVEL="WARNING")
    if redis_url:
        env["REDIS_URL"] = redis_url
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, database_url, prefix, mobile, str(attempts)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def prefix():
    """A key prefix of this test's own in the shared Redis; its keys are deleted afterwards."""
    import redis

    value = f"ops-test-{uuid.uuid4().hex[:12]}"
    yield value
    connection = redis.Redis(*REDIS, db=15)
    for key in connection.scan_iter(f"*{value}*"):
        connection.delete(key)
    connection.close()


def test_processes_share_the_limit_through_redis(database_url, keys, prefix):
    import redis

    url = f"redis://{REDIS[0]}:{REDIS[1]}/15"
    first = app_process(database_url, keys, prefix, "13600000001", 2, url)
    second = app_process(database_url, keys, prefix, "13600000001", 2, url)
    assert first["storage"] == "RedisStorage" and first["uri"] == url
    assert first["statuses"] == [401, 401]
    assert second["statuses"] == [401, 429]  # the third failure overall was the last allowed
    connection = redis.Redis(*REDIS, db=15)
    try:
        keys_written = [key.decode() for key in connection.scan_iter(f"*{prefix}*")]
    finally:
        connection.close()
    assert any("login-account" in key and "13600000001" in key for key in keys_written), keys_written


def test_without_redis_each_process_counts_alone(database_url, keys, prefix):
    first = app_process(database_url, keys, prefix, "13600000002", 2, None)
    second = app_process(database_url, keys, prefix, "13600000002", 2, None)
    assert first["storage"] == "MemoryStorage" and first["uri"] == "memory://"
    assert first["statuses"] == [401, 401] and second["statuses"] == [401, 401]


def test_redis_down_falls_back_to_memory_instead_of_failing(database_url, keys, prefix):
    """REDIS_URL set but Redis unreachable: logins still answer (401, then 429 from this process's own count)."""
    seen = app_process(database_url, keys, prefix, "13600000003", 5, "redis://127.0.0.1:1/15")
    assert seen["storage"] == "RedisStorage"
    assert seen["statuses"] == [401, 401, 401, 429, 429]
