#!/usr/bin/env python
"""Benchmark of the check-in engine: five kinds of scan under gunicorn, each beside a bare one-INSERT endpoint.

    .venv/bin/python bench/checkin.py                 # PostgreSQL (a fresh database) and then SQLite
    .venv/bin/python bench/checkin.py --rounds 7 --duration 10

Builds an expo under way (bench/common.py add_expo): 50 positions x 3 shifts, 30,000 volunteers each
assigned to the shift under way and the next one, a coordinator with an API token and, for the kiosk,
an API token of each volunteer (the volunteer's phone, logged in). Two gunicorn servers run on
127.0.0.1 with the same worker count (APP_ENV=production, generated secrets): the application
(wsgi:app) and bench/bare_insert.py, a bare Flask endpoint that parses the same JSON body and does one
INSERT through the same SQLAlchemy/psycopg pool. wrk (installed from Debian's packages when missing:
`apt-get install -y wrk`) drives them with the same connections for the same time. The kinds:

  badge check-in    POST /api/v1/scans, one live scan of a volunteer on the shift under way
  badge check-out   the same, of a volunteer checked in an hour ago
  kiosk check-in    POST /api/v1/kiosk-scans, the volunteer's own token and the site's rotating code
  offline 200       POST /api/v1/scans with 200 queued offline scans (rate counted in scans)
  SQLite check-in   badge check-in with both servers on a SQLite file (the embedded default)

Each round runs the bare endpoint and then each kind, alternating, so a busy neighbour slows both
sides alike; between runs the scans and attendances are reset, so each run starts from the same
state. After each run the database is asked what every scan did (a refused scan also answers 200):
only the kind's own outcome counts. The figures are the median of the rounds, each kind's ratio the
median of its per-round ratios to the bare run just before it, with the CPU each request cost the
server, the database and wrk (bench/wrk_runner.py). Rate limits stay on, in Redis as in production,
raised to 10^7 per minute. Targets (docs/performance.md), the exit status 1 when one is missed:
badge check-in and check-out >= 45 % of bare with p99 < 100 ms, kiosk >= 35 %, offline >= 5x the
badge check-in rate (in scans/s), SQLite badge check-in >= 40 % of the SQLite bare endpoint.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common import (
    ROOT,
    UNLIMITED,
    add_expo,
    connect,
    demo_town,
    exit_status,
    flush_redis,
    fresh_database,
    insert_volunteers,
    make_app,
    met_or_missed,
    migrate,
    new_secrets,
    server_env,
    stop_server,
)
from wrk_runner import BATCH_LUA, KIOSK_LUA, LUA, cost, run_wrk, start_server

DEFAULT_DATABASE = "volunteers_bench_checkin"
BATCH = 200
TARGETS = {"badge check-in": 0.45, "badge check-out": 0.45, "kiosk check-in": 0.35, "SQLite check-in": 0.40}
TARGET_P99_MS = 100.0
TARGET_BATCH_FACTOR = 5.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="PostgreSQL database to (re)create on 127.0.0.1")
    parser.add_argument("--volunteers", type=int, default=30_000)
    parser.add_argument("--positions", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for both servers (default 4)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--duration", type=int, default=6, help="seconds per measured run (at most 20)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server and kind")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (at least 5 for the targets)")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    return parser.parse_args()


def ensure_wrk() -> None:
    """wrk from Debian's packages, installed when missing (the project's machines are Debian)."""
    if shutil.which("wrk"):
        return
    print("installing wrk (apt-get install -y wrk) ...", flush=True)
    apt = ["apt-get", "install", "-y", "-q", "wrk"]
    if os.geteuid() != 0:
        apt.insert(0, "sudo")
    if subprocess.run(apt, capture_output=True).returncode != 0 or not shutil.which("wrk"):
        sys.exit("wrk is needed and could not be installed: apt-get install -y wrk")


def person(organizations: list):
    from datetime import date

    from app.security import demo_id_number

    def make(n: int) -> dict:
        birth = date(1985, 1, 1) + timedelta(days=n % 7000)
        return {
            "name": f"志愿者{n:05d}",
            "birth_date": birth,
            "id_number": demo_id_number(birth, n % 1000, region=f"{443000 + n // 1000:06d}"),
            "political_status": "共青团员",
            "organization_id": organizations[n % len(organizations)].id,
        }

    return make


def seed(args, url: str, keys: dict[str, str]) -> dict:
    """Schema, volunteers, the expo under way and its assignments, the scanner's and the volunteers' tokens."""
    from sqlalchemy import insert, select, text

    from api.models import ApiToken
    from api.tokens import TOKEN_PREFIX, create_token, hash_token
    from app.extensions import db
    from app.permissions import Role
    from app.timeutil import utcnow
    from volunteers.accounts.models import User
    from volunteers.organizations.models import Organization, RoleGrant

    app = make_app(url, **keys, RATELIMIT_ENABLED=False)
    with app.app_context():
        migrate()
        town = demo_town()
        now = utcnow()
        teams = [o for o in db.session.scalars(select(Organization)) if o.path.startswith(town.path)]
        ids = insert_volunteers(args.volunteers + 1, person(teams), mobile_prefix="136", now=now)
        coordinator_id, volunteer_ids = ids[0], ids[1:]
        db.session.add(RoleGrant(user_id=coordinator_id, organization_id=town.id, role=Role.COORDINATOR.value))
        _token, bearer = create_token(db.session.get(User, coordinator_id), "bench scanner", by=None, now=now)
        secrets = [f"{TOKEN_PREFIX}bench{n:08d}{'x' * 24}" for n in range(len(volunteer_ids))]
        db.session.execute(
            insert(ApiToken),
            [
                {
                    "user_id": uid,
                    "name": "phone",
                    "token_hash": hash_token(secret),
                    "prefix": secret[:12],
                    "created_at": now,
                    "last_used_at": now,  # a phone in use: its use was recorded lately
                }
                for uid, secret in zip(volunteer_ids, secrets, strict=True)
            ],
        )
        start = now - timedelta(hours=1)
        event_id, assignments = add_expo(
            "漫博会 签到压测",
            town.id,
            coordinator_id,
            volunteer_ids,
            start=start,
            hours=12,
            signup=(now - timedelta(days=7), start),
            published_at=now,
            positions=args.positions,
            slots=[(start + timedelta(hours=4 * k), start + timedelta(hours=4 * (k + 1))) for k in range(3)],
            assigned=2,
            now=now,
        )
        sqlite = url.startswith("sqlite")
        db.session.execute(
            text(
                "CREATE TABLE bench_pings (id INTEGER PRIMARY KEY AUTOINCREMENT, device_id text, client_scan_id text, "
                "created_at text)"
                if sqlite
                else "CREATE TABLE bench_pings (id bigserial PRIMARY KEY, device_id text, client_scan_id text, "
                "created_at timestamptz)"
            )
        )
        db.session.commit()
        statements = statements_per_scan(app, event_id, bearer, volunteer_ids[-1])
        db.session.execute(
            text("ANALYZE" if sqlite else "ANALYZE users, organizations, role_grants, api_tokens, events, shifts")
        )
        db.session.commit()
        db.engine.dispose()
    return {
        "app": app,
        "event_id": event_id,
        "bearer": bearer,
        "coordinator_id": coordinator_id,
        "volunteer_ids": volunteer_ids[:-1],
        "secrets": secrets[:-1],
        "assignments": assignments,
        "statements": statements,
    }


def statements_per_scan(app, event_id: int, bearer: str, volunteer_id: int) -> int:
    """The SQL statements one live badge check-in costs, the token's first use (its use recorded) not counted."""
    from sqlalchemy import event as sa_event

    from app.extensions import db
    from checkin.tokens import badge_token

    client, statements = app.test_client(), []
    headers = {"Authorization": f"Bearer {bearer}"}
    client.get(f"/api/v1/events/{event_id}", headers=headers)  # records the token's use

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    body = {
        "event_id": event_id,
        "device_id": "probe",
        "scans": [{"client_scan_id": "probe-1", "badge_token": badge_token(volunteer_id, now=_now())}],
    }
    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = client.post("/api/v1/scans", json=body, headers=headers).get_json()["results"][0]
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert result["action"] == "check_in", result
    return len(statements)


def _now():
    from app.timeutil import utcnow

    return utcnow()


# -- state between runs ---------------------------------------------------------------------------


class Database:
    """SQL on the bench database (PostgreSQL through psycopg, SQLite through sqlite3)."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = url.startswith("sqlite")

    def run(self, sql: str, params: tuple = ()) -> list:
        if self.sqlite:
            import sqlite3

            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=60)
            try:
                rows = conn.execute(sql.replace("%s", "?"), params).fetchall()
                conn.commit()
                return rows
            finally:
                conn.close()
        with connect(self.url) as conn:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
            conn.commit()
            return rows

    def reset(self, *, settle: bool = True) -> None:
        """No scan, no attendance, every assignment as assigned: each run starts from the same state (settled,
        unless the caller writes more first and settles then)."""
        for sql in (
            "DELETE FROM scans",
            "DELETE FROM attendances",
            "UPDATE assignments SET status = 'assigned' WHERE status = 'completed'",
            "DELETE FROM bench_pings",
        ):
            self.run(sql)
        if settle:
            self.settle()

    def settle(self) -> None:
        """The tables vacuumed and their statistics fresh, as autovacuum keeps a database in service: without it
        the deleted rows of earlier runs stay in the indexes and the planner works from a table's old size."""
        if self.sqlite:
            self.run("ANALYZE")
            return
        with connect(self.url) as conn:
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE scans, attendances, assignments, users")

    def check_in_all(self, event_id: int, coordinator_id: int) -> None:
        """Every volunteer checked in an hour ago on the shift under way (the check-out runs' state)."""
        now = "now() AT TIME ZONE 'UTC'" if not self.sqlite else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
        an_hour_ago = (
            "(now() AT TIME ZONE 'UTC') - interval '1 hour'"
            if not self.sqlite
            else "strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour')"
        )
        self.run(
            "INSERT INTO attendances (user_id, event_id, shift_id, assignment_id, checked_in_at, status, "
            "check_in_method, offline, outside_radius, conflict, checked_in_by_id, note, created_at, updated_at) "
            f"SELECT a.user_id, s.event_id, s.id, a.id, {an_hour_ago}, 'open', 'badge', false, false, false, %s, '', "
            f"{now}, {now} FROM assignments a JOIN shifts s ON s.id = a.shift_id "
            f"WHERE s.event_id = %s AND s.starts_at <= {now} AND s.ends_at > {now} "
            "ON CONFLICT (user_id) WHERE status = 'open' DO NOTHING",
            (coordinator_id, event_id),
        )

    def quiet(self, table: str) -> None:
        """wrk stops with requests in flight (an offline batch takes seconds): wait until the server has
        finished them, so that neither the database read nor the next run shares the machine with them."""
        before = None
        while (rows := self.run(f"SELECT count(*) FROM {table}")[0][0]) != before:
            before = rows
            time.sleep(0.5)

    def outcomes(self) -> dict[str, int]:
        rows = self.run("SELECT action || ':' || result, count(*) FROM scans GROUP BY 1")
        return dict(rows)


# -- the runs -------------------------------------------------------------------------------------


def write_badges(app, volunteer_ids: list[int], path: Path, *, ago: int = 0) -> None:
    """Every volunteer's badge token of the current 30-second window (or `ago` seconds before)."""
    from checkin.tokens import badge_token

    with app.app_context():
        at = _now() - timedelta(seconds=ago)
        tokens = [badge_token(uid, now=at) for uid in volunteer_ids]
    path.write_text("return {" + ",".join(f'"{t}"' for t in tokens) + "}\n")


def kiosk_code(app, event_id: int) -> str:
    from checkin.tokens import kiosk_token

    with app.app_context():
        return kiosk_token(event_id, shift_id=None, now=_now())


class Bench:
    def __init__(self, args, facts: dict, url: str, env: dict, workdir: Path, log):
        self.args, self.facts, self.url, self.workdir = args, facts, url, workdir
        self.db = Database(url)
        self.app_server, self.app_port = start_server("wsgi:app", ROOT, env, args.workers, log)
        self.bare_server, self.bare_port = start_server("bare_insert:app", ROOT / "bench", env, args.workers, log)
        self.badges, self.phones = workdir / "badges.lua", workdir / "phones.lua"
        self.phones.write_text("return {" + ",".join(f'"{s}"' for s in facts["secrets"]) + "}\n")
        self.pg_url = None if url.startswith("sqlite") else url

    def stop(self) -> None:
        stop_server(self.app_server)
        stop_server(self.bare_server)

    def script(self, kind: str) -> tuple[Path, str]:
        """(the wrk script of a kind, the path it posts to)."""
        facts = self.facts
        path = self.workdir / f"{kind.split()[0]}-{kind.split()[-1]}.lua"
        if kind == "kiosk check-in":
            code = kiosk_code(facts["app"], facts["event_id"])
            path.write_text(KIOSK_LUA % {"tokens": self.phones, "kiosk": code})
            return path, "/api/v1/kiosk-scans"
        if kind == "offline 200":
            at = (_now() - timedelta(seconds=20)).isoformat()
            path.write_text(
                BATCH_LUA
                % {
                    "tokens": self.badges,
                    "event_id": facts["event_id"],
                    "bearer": facts["bearer"],
                    "at": at,
                    "n": BATCH,
                }
            )
            return path, "/api/v1/scans"
        path.write_text(LUA % {"tokens": self.badges, "event_id": facts["event_id"], "bearer": facts["bearer"]})
        return path, "/api/v1/scans"

    def run(self, kind: str, seconds: int, label: str) -> tuple[dict, dict[str, int]]:
        """One run of a kind from the reset state; its figures and what its scans did."""
        facts, ids = self.facts, self.facts["volunteer_ids"]
        checking_out = kind == "badge check-out"
        self.db.reset(settle=not checking_out)
        if checking_out:
            self.db.check_in_all(facts["event_id"], facts["coordinator_id"])
            self.db.settle()
        write_badges(facts["app"], ids, self.badges, ago=20 if kind == "offline 200" else 0)
        script, path = self.script(kind)
        bare = kind == "bare"
        server, port = (self.bare_server, self.bare_port) if bare else (self.app_server, self.app_port)
        span = len(ids) - len(ids) % BATCH
        result = run_wrk(script, server, port, self.pg_url, self.args, seconds, label, 0, span, path=path)
        self.db.quiet("bench_pings" if bare else "scans")
        return result, ({} if bare else self.db.outcomes())


def expected(kind: str) -> str:
    return "check_out:ok" if kind == "badge check-out" else "check_in:ok"


def verified(kind: str, result: dict, outcomes: dict[str, int]) -> bool:
    """Every scan did what it should: only the kind's outcome, at least one per answered scan, no error answer."""
    scans = result["requests"] * (BATCH if kind == "offline 200" else 1)
    return set(outcomes) == {expected(kind)} and outcomes[expected(kind)] >= scans and result["non2xx"] == 0


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def measure(bench: Bench, kinds: list[str], args, name: str) -> dict[str, dict]:
    """Warm-up, then the rounds: bare and each kind in turn. Returns per kind its runs and per-round ratios."""
    for kind in ["bare", *kinds]:
        bench.run(kind, args.warmup, "warm")
    figures: dict[str, dict] = {kind: {"runs": [], "ratios": [], "ok": True} for kind in ["bare", *kinds]}
    for n in range(args.rounds):
        for kind in kinds:
            bare, _ = bench.run("bare", args.duration, f"bare{n}")
            bare["scans_per_s"] = bare["rate"]
            figures["bare"]["runs"].append(bare)
            result, outcomes = bench.run(kind, args.duration, f"r{n}")
            scans = result["rate"] * (BATCH if kind == "offline 200" else 1)
            result["scans_per_s"] = scans
            figures[kind]["runs"].append(result)
            figures[kind]["ratios"].append(result["rate"] / bare["rate"])
            ok = verified(kind, result, outcomes)
            figures[kind]["ok"] = figures[kind]["ok"] and ok
            print(
                f"{name} round {n + 1}: {kind:<16} {scans:8.1f} scans/s  p99 {result['p99_us'] / 1000:6.1f} ms  "
                f"bare {bare['rate']:7.1f}/s  ratio {result['rate'] / bare['rate']:6.1%}  "
                f"load {os.getloadavg()[0]:.1f}  db {outcomes}{'' if ok else '  NOT VERIFIED'}",
                flush=True,
            )
            if not ok:
                print(f"  wrk: {result}", flush=True)
    return figures


def median_cpu(runs: list[dict]) -> dict[str, float]:
    """Per part (server, postgres, wrk), the median over the runs of its CPU per request."""
    return {key: statistics.median(r["cpu_ms"][key] for r in runs) for key in runs[0]["cpu_ms"]}


def summary(kind: str, figures: dict) -> str:
    runs = figures["runs"]
    cpu = median_cpu(runs)
    scans = median_of(runs, "scans_per_s")
    ratio = f"{statistics.median(figures['ratios']):6.1%}" if figures["ratios"] else "     -"
    per_scan = BATCH if kind == "offline 200" else 1
    return (
        f"{kind:<16} {scans:8.1f} scans/s  p50 {median_of(runs, 'p50_us') / 1000:6.1f} ms  "
        f"p99 {median_of(runs, 'p99_us') / 1000:6.1f} ms  ratio {ratio}  CPU per scan: server "
        f"{cpu['server'] / per_scan:.2f} ms, database {cpu['postgres'] / per_scan:.2f} ms"
    )


def phase(args, url: str, keys: dict, redis: str, kinds: list[str], name: str) -> dict[str, dict]:
    started = time.monotonic()
    facts = seed(args, url, keys)
    print(
        f"{name}: seeded {len(facts['volunteer_ids']):,} volunteers, {facts['assignments']:,} assignments in "
        f"{time.monotonic() - started:.0f} s; a live badge check-in costs {facts['statements']} SQL statements",
        flush=True,
    )
    env = {**server_env(url, keys, redis), "API_KIOSK_SCAN_RATE_LIMIT": UNLIMITED}
    workdir = Path(tempfile.mkdtemp(prefix="bench-checkin-"))
    with open(workdir / "gunicorn.log", "w") as log:
        bench = Bench(args, facts, url, env, workdir, log)
        try:
            return measure(bench, kinds, args, name)
        finally:
            bench.stop()


def main() -> int:
    args = parse_args()
    ensure_wrk()
    args.duration = min(args.duration, 20)  # tokens made at the start stay valid for at least 30 s
    keys = new_secrets()
    results: dict[str, dict] = {}
    pg = phase(
        args,
        fresh_database(args.database),
        keys,
        flush_redis(14),
        ["badge check-in", "badge check-out", "kiosk check-in", "offline 200"],
        "PostgreSQL",
    )
    results.update({f"pg {k}" if k == "bare" else k: v for k, v in pg.items()})
    if not args.skip_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="bench-checkin-sqlite-"))
        sqlite = phase(args, f"sqlite:///{folder / 'bench.db'}", keys, "", ["badge check-in"], "SQLite")
        results["sqlite bare"] = sqlite["bare"]
        results["SQLite check-in"] = sqlite["badge check-in"]
    print(
        f"gunicorn -w {args.workers} (sync) x2 servers; wrk -t{args.threads} -c{args.connections}; "
        f"{args.rounds} rounds x {args.duration} s per kind; medians of the rounds; rate limits on "
        f"(Redis on PostgreSQL, worker memory on SQLite), raised to {UNLIMITED}"
    )
    print(f"load average           {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for kind, figures in results.items():
        print(summary(kind, figures))
        print("  " + cost(kind, {"cpu_ms": median_cpu(figures["runs"])}))
    checks: dict[str, bool] = {}
    for kind, target in TARGETS.items():
        if kind in results:
            checks[f"{kind} >= {target:.0%} of bare"] = statistics.median(results[kind]["ratios"]) >= target
    for kind in ("badge check-in", "badge check-out"):
        checks[f"{kind} p99 < {TARGET_P99_MS:.0f} ms"] = (
            median_of(results[kind]["runs"], "p99_us") / 1000 < TARGET_P99_MS
        )
    batch = median_of(results["offline 200"]["runs"], "scans_per_s")
    single = median_of(results["badge check-in"]["runs"], "scans_per_s")
    print(f"offline 200 / badge check-in: {batch / single:.1f}x in scans/s")
    checks[f"offline 200 >= {TARGET_BATCH_FACTOR:.0f}x the single-scan rate"] = batch >= TARGET_BATCH_FACTOR * single
    checks["every scan verified in the database"] = all(f["ok"] for f in results.values())
    checks["at least 5 rounds"] = args.rounds >= 5
    print("targets: " + "; ".join(f"{name}: {met_or_missed(ok)}" for name, ok in checks.items()))
    return exit_status(checks.values())


if __name__ == "__main__":
    sys.exit(main())
