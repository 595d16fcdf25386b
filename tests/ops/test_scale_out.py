"""Scale-out on one machine: two app servers and two schedulers on one PostgreSQL and one Redis.

The module starts, as in production (docs/deploy.md), two gunicorns (gunicorn.conf.py, wsgi:app,
APP_ENV=production with generated secrets) on free ports and two `flask scheduler run` processes, all on
the test database and on a Redis database of this module's own (REDIS_DB, flushed before and after).
Then, through both servers at once:
- many volunteers sign up for one small shift: it is never over-filled;
- one badge is scanned many times, and many badges twice each: every volunteer is checked in once;
- wrong passwords half on each server are refused on their combined count (the limit lives in Redis);
- the two schedulers: one holds the lock and runs every job once per period (periods shortened with
  SCHEDULER_JOB_PERIODS), the other stands by; SIGKILL the holder and the standby takes over.

The processes run for the whole module, so the database is emptied once, after the module, not after each
test: the job runs of the schedulers must survive until the last test reads them, and emptying tables under
running jobs could deadlock with them. The scheduler test kills a scheduler, so it comes last.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, inspect, text

from tests import factories
from tests.ops.helpers import (
    BOOT_SECONDS,
    ON_POSTGRES,
    ROOT,
    end_process_group,
    gunicorn,
    production_env,
    wait_until,
)
from tests.support import REDIS, real_keys, redis_answers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://..."),
    pytest.mark.skipif(not redis_answers(), reason="needs Redis at 127.0.0.1:6379"),
]

#: this module's own Redis database (test_rate_limit_storage.py uses 15); flushed before and after
REDIS_DB = 12
#: the jobs whose period the module shortens to PERIOD seconds; the others run once at start (hourly, daily)
SHORT_JOBS = ("email_outbox", "reminders", "missing_checkouts", "hours_collect")
PERIOD = 5
#: failed logins allowed per account, counted over both servers
LOGIN_LIMIT = 4
HOLDERS = ("scale-out-a", "scale-out-b")


# -- the processes ------------------------------------------------------------------------------


@dataclass
class Scheduler:
    holder_id: str
    process: subprocess.Popen
    log_path: Path

    def records(self) -> list[dict]:
        """The JSON log lines written so far."""
        records = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def runs(self) -> list[tuple[str, str]]:
        """(job, period key) of every run this process did (app.scheduling.jobs.run_guarded logs one line per run)."""
        return [
            (record["job"], record["period_key"])
            for record in self.records()
            if record.get("logger") == "app.scheduling.jobs" and "period_key" in record
        ]

    def said(self, text_part: str) -> bool:
        return any(text_part in record.get("message", "") for record in self.records())

    def tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]


def start_scheduler(env: dict, holder_id: str, directory: Path) -> Scheduler:
    log_path = directory / f"scheduler-{holder_id}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "scheduler", "run", "--holder-id", holder_id],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Scheduler(holder_id, process, log_path)


def flush_redis() -> None:
    import redis

    connection = redis.Redis(*REDIS, db=REDIS_DB)
    try:
        connection.flushdb()
    finally:
        connection.close()


def redis_keys() -> list[str]:
    import redis

    connection = redis.Redis(*REDIS, db=REDIS_DB)
    try:
        return [key.decode() for key in connection.scan_iter("*")]
    finally:
        connection.close()


@pytest.fixture(scope="module")
def database_url(template_database):
    """The test database for the whole module, emptied after it (tests/conftest.py empties it after each test)."""
    yield template_database
    engine = create_engine(template_database)
    with engine.begin() as connection:
        tables = [name for name in inspect(connection).get_table_names() if name != "alembic_version"]
        if tables:
            connection.execute(
                text("TRUNCATE TABLE " + ", ".join(f'"{name}"' for name in tables) + " RESTART IDENTITY CASCADE")
            )
    engine.dispose()


@pytest.fixture(scope="module")
def keys():
    """The secrets shared by every process of the module and by the test's app (it signs badge tokens)."""
    return real_keys()


@pytest.fixture
def app_overrides(keys):
    return dict(keys)


@pytest.fixture(scope="module")
def cluster(database_url, keys, tmp_path_factory):
    """Two gunicorns and two schedulers on one database and one Redis database; every process ended afterwards."""
    directory = tmp_path_factory.mktemp("scale-out")
    flush_redis()
    env = production_env(
        database_url,
        keys,
        REDIS_URL=f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}",
        FLASK_APP="composition:create_app",
        LOG_LEVEL="INFO",
        LOGIN_LIMIT_PER_ACCOUNT=f"{LOGIN_LIMIT} per 10 minutes",
        SCHEDULER_RETRY_SECONDS=1,
        SCHEDULER_HEARTBEAT_SECONDS=1,
        SCHEDULER_JOB_PERIODS=",".join(f"{name}={PERIOD}" for name in SHORT_JOBS),
    )
    schedulers: dict[str, Scheduler] = {}
    try:
        # The schedulers boot while the servers do; each server waits until it answers /healthz.
        for holder_id in HOLDERS:
            schedulers[holder_id] = start_scheduler(env, holder_id, directory)
        with gunicorn(env, directory, workers=2) as first, gunicorn(env, directory, workers=2) as second:
            yield SimpleNamespace(servers=(first, second), schedulers=schedulers, url=database_url, started=time.time())
    finally:
        for scheduler in schedulers.values():
            end_process_group(scheduler.process)
        flush_redis()


def send_all(calls, workers: int = 12) -> list:
    """Run every call at once from a pool of threads; their results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: call(), calls))


def rows(url: str, query: str, **params) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]
    finally:
        engine.dispose()


# -- sign-ups -----------------------------------------------------------------------------------


def test_sign_ups_through_both_servers_never_overfill_a_shift(cluster, db, make_user, make_shift, now):
    from api.tokens import create_token

    capacity, count = 5, 24
    shift = make_shift(capacity=capacity)
    volunteers = [make_user() for _ in range(count)]
    secrets = [create_token(volunteer, "phone", by=volunteer, now=now)[1] for volunteer in volunteers]
    db.session.commit()
    shift_id = shift.id  # the threads below have no application context: plain values only
    # Every other request goes to the other server; half of the volunteers would take a waitlist place.
    wants_waitlist = [n % 4 >= 2 for n in range(count)]

    def sign_up(n: int):
        client = cluster.servers[n % 2].client()
        return client.post(
            f"/api/v1/shifts/{shift_id}/signup",
            json_body={"join_waitlist": wants_waitlist[n]},
            headers={"Authorization": f"Bearer {secrets[n]}"},
        )

    answers = send_all([lambda n=n: sign_up(n) for n in range(count)])

    outcome = {}
    for n, answer in enumerate(answers):
        if answer.status == 201:
            outcome[n] = answer.json()["status"]
        else:
            assert answer.status == 409, answer.text
            assert answer.json()["error"]["code"] == "shift_full", answer.text
            outcome[n] = "refused"
    placed = {n for n, status in outcome.items() if status == "assigned"}
    assert len(placed) == capacity, outcome
    # Everyone else is on the waitlist if they asked for it, refused if not.
    assert all(
        outcome[n] == ("waitlisted" if wants_waitlist[n] else "refused") for n in range(count) if n not in placed
    ), outcome
    outcome = Counter(outcome.values())

    in_database = dict(
        rows(
            cluster.url,
            "SELECT status, count(*) FROM assignments WHERE shift_id = :shift GROUP BY status",
            shift=shift_id,
        )
    )
    assert in_database == {status: outcome[status] for status in ("assigned", "waitlisted") if outcome[status]}
    assert rows(cluster.url, "SELECT assigned_count FROM shifts WHERE id = :shift", shift=shift_id) == [(capacity,)]
    assert (
        rows(
            cluster.url,
            "SELECT user_id FROM assignments WHERE shift_id = :shift GROUP BY user_id HAVING count(*) > 1",
            shift=shift_id,
        )
        == []
    )


# -- scans --------------------------------------------------------------------------------------


def test_badges_scanned_through_both_servers_check_in_once(cluster, db, scene, make_user):
    from app.timeutil import utcnow
    from checkin.tokens import badge_token

    scene.shift.capacity = 20
    others = [make_user() for _ in range(15)]
    for volunteer in others:
        factories.assignment(scene.shift, volunteer, commit=False)
    db.session.commit()
    # The threads below have no application context: plain values only.
    event_id, everyone = scene.event.id, [scene.volunteer.id] + [volunteer.id for volunteer in others]
    auth = {"Authorization": f"Bearer {scene.api_token}"}

    def scan(server_index: int, token: str):
        """One badge scan at the gate scanner in front of server A or B."""
        client = cluster.servers[server_index].client()
        body = {
            "event_id": event_id,
            "device_id": f"gate-{server_index}",
            "scans": [{"client_scan_id": uuid.uuid4().hex, "badge_token": token}],
        }
        answer = client.post("/api/v1/scans", json_body=body, headers=auth)
        assert answer.status == 200, answer.text
        return answer.json()["results"][0]

    # One volunteer's badge, eight times at once over both servers.
    token = badge_token(everyone[0], now=utcnow())
    results = send_all([lambda n=n: scan(n % 2, token) for n in range(8)], workers=8)
    check_ins = [result for result in results if result["ok"] and result["action"] == "check_in"]
    assert len(check_ins) == 1, results
    assert not any(result["action"] == "check_out" for result in results), results

    # Fifteen more badges, each scanned at both gates, all at once in a random order.
    calls = [
        (server_index, user_id, badge_token(user_id, now=utcnow()))
        for user_id in everyone[1:]
        for server_index in (0, 1)
    ]
    random.Random(7).shuffle(calls)
    results = send_all([lambda call=call: (call[1], scan(call[0], call[2])) for call in calls])
    checked_in = Counter(user_id for user_id, result in results if result["ok"] and result["action"] == "check_in")
    assert checked_in == Counter(everyone[1:]), results
    assert not any(result["action"] == "check_out" for _user, result in results), results

    attendances = rows(cluster.url, "SELECT user_id, status FROM attendances WHERE event_id = :event", event=event_id)
    assert sorted(attendances) == sorted((user_id, "open") for user_id in everyone)
    accepted = rows(
        cluster.url,
        "SELECT user_id, count(*) FROM scans WHERE event_id = :event AND result = 'ok' "
        "AND action = 'check_in' GROUP BY user_id",
        event=event_id,
    )
    assert sorted(accepted) == sorted((user_id, 1) for user_id in everyone)


# -- rate limits --------------------------------------------------------------------------------


def test_wrong_passwords_on_both_servers_are_limited_on_their_combined_count(cluster):
    # No such account: failures count per mobile number all the same, and this number is this run's own.
    mobile = f"136{uuid.uuid4().int % 10**8:08d}"
    clients = []
    for server in cluster.servers:
        client = server.client()
        clients.append((client, client.csrf_token("/login")))

    def attempt(n: int) -> int:
        client, csrf_token = clients[n % 2]
        return client.post(
            "/login", data={"csrf_token": csrf_token, "mobile": mobile, "password": "not-the-password"}
        ).status

    statuses = [attempt(n) for n in range(LOGIN_LIMIT + 2)]
    # Half of the failures on each server: alone, neither would have refused yet.
    assert statuses == [401] * LOGIN_LIMIT + [429, 429]
    assert any("login-account" in key and mobile in key for key in redis_keys())


# -- the schedulers -----------------------------------------------------------------------------


def lock_holder(url: str) -> str | None:
    """The holder id of the scheduler holding the advisory lock (its session's application_name), if any."""
    from app.scheduling.lock import AdvisoryLock

    probe = AdvisoryLock(url, "scheduler", "probe")
    try:
        name = probe.holder()
    finally:
        probe.dispose()
    return name.removeprefix("scheduler ") if name else None


def period_start(key: str) -> float:
    return datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def job_runs(url: str) -> dict[str, list[tuple[str, str]]]:
    """job -> [(period key, status)] from the job_runs table, oldest first."""
    runs = defaultdict(list)
    for job, key, status in rows(url, "SELECT job, period_key, status FROM job_runs ORDER BY period_key"):
        runs[job].append((key, status))
    return runs


def test_one_scheduler_runs_each_job_once_per_period_and_the_standby_takes_over(cluster):
    url, schedulers = cluster.url, cluster.schedulers
    holder_id = wait_until(
        lambda: lock_holder(url), timeout=BOOT_SECONDS, what="a scheduler to take the lock", interval=0.5
    )
    holder = schedulers[holder_id]
    standby = schedulers[next(name for name in HOLDERS if name != holder_id)]
    wait_until(
        lambda: standby.said("standing by") or standby.said("lock acquired"),
        timeout=BOOT_SECONDS,
        what="the other scheduler to stand by",
        interval=0.2,
    )

    def ran_periods(scheduler: Scheduler, job: str, after: float = 0) -> set[str]:
        return {key for name, key in scheduler.runs() if name == job and period_start(key) >= after}

    # Both alive: the holder runs each short job period after period; the standby runs nothing at all.
    wait_until(
        lambda: all(len(ran_periods(holder, job)) >= 3 for job in SHORT_JOBS),
        timeout=60,
        what=f"three runs of every short job (every {PERIOD} s)",
        interval=0.2,
    )
    assert holder.process.poll() is None and standby.process.poll() is None
    assert not standby.said("lock acquired"), standby.tail()
    assert not any(record.get("logger") == "app.scheduling.jobs" for record in standby.records()), standby.tail()

    # SIGKILL the holder: PostgreSQL ends its session, which frees the lock, and the standby takes it.
    os.killpg(holder.process.pid, signal.SIGKILL)
    holder.process.wait(30)
    killed_at = time.time()
    wait_until(
        lambda: lock_holder(url) == standby.holder_id, timeout=15, what="the standby to take the lock", interval=0.2
    )
    assert (
        rows(
            url, "SELECT pid FROM pg_stat_activity WHERE application_name = :name", name=f"scheduler {holder.holder_id}"
        )
        == []
    )
    wait_until(
        lambda: all(ran_periods(standby, job, after=killed_at) for job in SHORT_JOBS),
        timeout=3 * PERIOD + 20,
        what="the new holder to run every short job in a period after the kill",
        interval=0.2,
    )

    # A clean stop (SIGTERM) lets its jobs finish and gives the lock back; then every record is final.
    os.killpg(standby.process.pid, signal.SIGTERM)
    assert standby.process.wait(60) == 0, standby.tail()
    assert lock_holder(url) is None

    # Never twice: no (job, period) run by both processes, nor twice by one.
    runs = holder.runs() + standby.runs()
    assert [run for run, times in Counter(runs).items() if times > 1] == []
    recorded = job_runs(url)
    done = {(job, key) for job, periods in recorded.items() for key, status in periods if status == "ok"}
    assert set(runs) <= done
    # Rows without a log line: only runs the kill cut short (recorded, not logged yet), at most one per job.
    cut_short = {(job, key) for job, periods in recorded.items() for key, _status in periods} - set(runs)
    assert all(period_start(key) < killed_at for _job, key in cut_short), cut_short
    assert all(count == 1 for count in Counter(job for job, _key in cut_short).values()), cut_short
    assert not [(job, key) for job, periods in recorded.items() for key, status in periods if status == "failed"]

    # Once in every period: no short job skipped one, through the failover too.
    for job in SHORT_JOBS:
        starts = [period_start(key) for key, _status in recorded[job]]
        assert len(starts) >= 4, (job, recorded[job])
        assert [later - earlier for earlier, later in pairwise(starts)] == [PERIOD] * (len(starts) - 1), (
            job,
            recorded[job],
        )
