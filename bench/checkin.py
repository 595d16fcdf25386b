#!/usr/bin/env python
"""Benchmark of badge scans: POST /api/v1/scans under gunicorn on PostgreSQL, beside a bare one-INSERT endpoint.

    .venv/bin/python bench/checkin.py                          # a fresh database volunteers_bench_checkin
    .venv/bin/python bench/checkin.py --duration 15 --connections 32 --workers 4

Builds an expo under way: 50 positions × 3 shifts (the one under way and two later ones),
30,000 volunteers each assigned to the current and the next shift of one position, and a
coordinator with an API token. Then it starts two gunicorn servers on 127.0.0.1 (random free
ports, the same worker count, APP_ENV=production with generated secrets, DATABASE_URL set):
the application (wsgi:app) and bench/bare_insert.py, a bare Flask endpoint that parses the
same JSON body and does one INSERT through the same SQLAlchemy/psycopg pool. wrk (apt-get
install wrk) drives both with the same connections for the same time, each request a live
badge scan of a different volunteer with a fresh rotating token, and the script prints scans
per second, p50/p99 latency, the bare endpoint's rate and the ratio, then checks in the
database that every scan was a check-in (a refused scan also answers 200). Rounds alternate
between the two servers. Each run also reports the CPU one request cost the server, PostgreSQL
and wrk (bench/wrk_runner.py), which other work on a shared machine changes far less than the
rates. --breakdown adds the API's cheapest answers (an unknown event, a forged badge): what
the framework costs before any check-in rule runs.

Workers: 4 sync workers for 2 cores (3 and 6 measured about the same; see docs/performance.md).
On PostgreSQL a plain live check-in takes the express lane (api/express.py); CHECKIN_EXPRESS_LANE=0
in the environment measures the normal path instead. The probe before the run says which one
answered.
Rate limits stay on, in Redis as in production (REDIS_URL=redis://127.0.0.1:6379/14, flushed first;
--rate-limit-storage memory for the embedded default's per-worker memory, whose expiry timer
starts a thread on most requests), raised to 10^7 per minute through API_SCAN_RATE_LIMIT_PER_USER /
_PER_ADDRESS, so they cost what they cost but never refuse. Targets on a 2-core machine: >= 500 scans/s, p99 < 100 ms, and >= 40 %
of the bare endpoint's rate; the exit status is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
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
from wrk_runner import LUA, combined, cost, line, run_wrk, start_server

DEFAULT_DATABASE = "volunteers_bench_checkin"
TARGET_RATE, TARGET_P99_MS, TARGET_RATIO = 500.0, 100.0, 0.40


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="PostgreSQL database to (re)create on 127.0.0.1")
    parser.add_argument("--volunteers", type=int, default=30_000)
    parser.add_argument("--positions", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for both servers (default 4)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--duration", type=int, default=12, help="seconds per measured run (at most 20)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server")
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds, each the app then the bare endpoint")
    parser.add_argument(
        "--rate-limit-storage",
        choices=("redis", "memory"),
        default="redis",
        help="where the rate limits count: Redis db 14 (production; default) or worker memory",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also measure the API's cheaper answers: an unknown event (404) and a forged badge",
    )
    return parser.parse_args()


def volunteers(organizations: list):
    """The n-th volunteer of the expo (common.insert_volunteers): born 1985 on, in the organizations in turn."""
    from app.security import demo_id_number

    def person(n: int) -> dict:
        birth = date(1985, 1, 1) + timedelta(days=n % 7000)
        return {
            "name": f"志愿者{n:05d}",
            "birth_date": birth,
            "id_number": demo_id_number(birth, n % 1000, region=f"{443000 + n // 1000:06d}"),
            "political_status": "共青团员",
            "organization_id": organizations[n % len(organizations)].id,
        }

    return person


def seed(args, url: str, keys: dict[str, str]) -> dict:
    """Schema, organizations, volunteers, the expo under way and its assignments, a scanner token."""
    from sqlalchemy import select, text

    from api.tokens import create_token
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
        ids = insert_volunteers(args.volunteers + 2, volunteers(teams), mobile_prefix="136", now=now)
        coordinator_id, volunteer_ids = ids[0], ids[1:]
        db.session.add(RoleGrant(user_id=coordinator_id, organization_id=town.id, role=Role.COORDINATOR.value))
        _token, bearer = create_token(db.session.get(User, coordinator_id), "bench scanner", by=None, now=now)
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
        db.session.execute(
            text(
                "CREATE TABLE bench_pings (id bigserial PRIMARY KEY, device_id text, "
                "client_scan_id text, created_at timestamptz)"
            )
        )
        db.session.commit()
        queries = queries_per_scan(app, event_id, bearer, volunteer_ids[-2:])
        # Statistics for what was seeded; the scan log and attendances stay unanalyzed, as on a new
        # server before autovacuum's first pass: analyzed while empty, they would make PostgreSQL plan
        # the prepared scan statements (psycopg prepares a statement on its 5th run) as sequential
        # scans of a near-empty table, and keep those plans while the tables grow during the run.
        db.session.execute(
            text("ANALYZE users, organizations, role_grants, api_tokens, events, positions, shifts, assignments")
        )
        db.session.commit()
        db.engine.dispose()
    return {
        "event_id": event_id,
        "bearer": bearer,
        "volunteer_ids": volunteer_ids[:-2],
        "app": app,
        "shifts": args.positions * 3,
        "assignments": assignments,
        "queries": queries,
    }


def redis_url(storage: str) -> str:
    """Redis db 14, emptied, for the rate limits; "" (worker memory) when asked."""
    return "" if storage == "memory" else flush_redis(14)


def queries_per_scan(app, event_id: int, bearer: str, volunteer_ids: list[int]) -> tuple[int, str]:
    """Probe two live scans in-process through the test client: the SQL statements the first one cost (the
    token's first use: the normal path, through SQLAlchemy), and which lane answered the second one."""
    from sqlalchemy import event as sa_event

    from api.express import LANE
    from app.extensions import db
    from checkin.tokens import badge_token

    statements: list[str] = []
    engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def scan(volunteer_id: int, client_id: str) -> dict:
        body = {
            "event_id": event_id,
            "device_id": "probe",
            "scans": [{"client_scan_id": client_id, "badge_token": badge_token(volunteer_id, now=_now())}],
        }
        response = client.post("/api/v1/scans", json=body, headers={"Authorization": f"Bearer {bearer}"})
        result = response.get_json()["results"][0]
        assert result["action"] == "check_in", result
        return result

    client = app.test_client()
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        scan(volunteer_ids[0], "probe-1")
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)

    def lanes() -> dict:
        return {
            sample.labels["outcome"]: sample.value
            for metric in LANE.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        }

    before = lanes()
    scan(volunteer_ids[1], "probe-2")
    after = lanes()
    lane = [outcome for outcome, value in after.items() if value != before.get(outcome, 0)]
    return len(statements), ("express lane" if lane == ["express"] else f"normal path ({', '.join(lane) or 'off'})")


def _now():
    from app.timeutil import utcnow

    return utcnow()


def write_tokens(app, volunteer_ids: list[int], path: Path) -> None:
    """Every volunteer's badge token of the current 30-second window (valid for at least 30 s more)."""
    from checkin.tokens import badge_token

    with app.app_context():
        now = _now()
        tokens = [badge_token(uid, now=now) for uid in volunteer_ids]
    path.write_text("return {" + ",".join(f'"{t}"' for t in tokens) + "}\n")


def scan_outcomes(url: str, prefix: str) -> dict[str, int]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT action || ':' || result, count(*) FROM scans WHERE device_id LIKE %s GROUP BY 1", (prefix + "%",)
        ).fetchall()
    return dict(rows)


def main() -> int:
    args = parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        sys.exit("wrk is needed: apt-get install -y wrk")
    args.duration = min(args.duration, 20)  # tokens made at the start stay valid for at least 30 s
    keys = new_secrets()
    url = fresh_database(args.database)
    started = time.monotonic()
    facts = seed(args, url, keys)
    ids = facts["volunteer_ids"]
    statements, lane = facts["queries"]
    print(
        f"seeded {len(ids):,} volunteers, {facts['shifts']} shifts, {facts['assignments']:,} assignments "
        f"in {time.monotonic() - started:.0f} s; probe: the token's first scan = {statements} SQL statements "
        f"(normal path), the next one answered by the {lane}"
    )

    env = server_env(url, keys, redis_url(args.rate_limit_storage))
    workdir = Path(tempfile.mkdtemp(prefix="bench-checkin-"))
    tokens, script = workdir / "tokens.lua", workdir / "scan.lua"
    script.write_text(LUA % {"tokens": tokens, "event_id": facts["event_id"], "bearer": facts["bearer"]})
    warm = min(2000, len(ids) // 10)
    app_runs: list[dict] = []
    extra: dict[str, dict] = {}
    bare_runs: list[dict] = []
    with open(workdir / "gunicorn.log", "w") as log:
        app_server, app_port = start_server("wsgi:app", ROOT, env, args.workers, log)
        bare_server, bare_port = start_server("bare_insert:app", ROOT / "bench", env, args.workers, log)
        try:
            write_tokens(facts["app"], ids, tokens)
            run_wrk(script, app_server, app_port, url, args, args.warmup, "warm", 0, warm)
            run_wrk(script, bare_server, bare_port, url, args, args.warmup, "warm", 0, warm)
            span = (len(ids) - warm) // args.rounds
            for n in range(args.rounds):  # interleaved, so a busy neighbour slows both sides alike
                write_tokens(facts["app"], ids, tokens)
                app_runs.append(
                    run_wrk(script, app_server, app_port, url, args, args.duration, f"app{n}", warm + n * span, span)
                )
                bare_runs.append(run_wrk(script, bare_server, bare_port, url, args, args.duration, f"bare{n}", 0, span))
                print(line(f"round {n + 1}: scans", app_runs[-1]))
                print(line(f"round {n + 1}: bare", bare_runs[-1]))
            if args.breakdown:
                write_tokens(facts["app"], ids, tokens)
                for name, label, server, port in (
                    ("404 unknown event", "unknown", app_server, app_port),
                    ("refused: forged badge", "forged", app_server, app_port),
                    ("bare (again)", "bare-again", bare_server, bare_port),
                ):
                    extra[name] = run_wrk(script, server, port, url, args, args.duration, label, 0, span)
        finally:
            stop_server(app_server)
            stop_server(bare_server)

    scans, bare = combined(app_runs), combined(bare_runs)
    outcomes = scan_outcomes(url, "app")  # the measured rounds' devices: app0-*, app1-*
    ratio = scans["rate"] / bare["rate"]
    print(
        f"gunicorn -w {args.workers} (sync) ×2 servers; wrk -t{args.threads} -c{args.connections} "
        f"{args.rounds}×{args.duration}s each; rate limits on ({args.rate_limit_storage} storage), "
        f"raised to {UNLIMITED}"
    )
    print(line("POST /api/v1/scans", scans))
    print(line("bare Flask + 1 INSERT", bare))
    print(
        f"load average           {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine "
        f"slows both sides; the ratio is the comparable figure)"
    )
    print(f"ratio scans / bare     {ratio:.1%}")
    print(cost("POST /api/v1/scans", scans))
    print(cost("bare Flask + 1 INSERT", bare))
    print(
        f"ratio of CPU costs     {sum(bare['cpu_ms'].values()) / sum(scans['cpu_ms'].values()):.1%} "
        f"(bare / scans: the load-independent form of the ratio)"
    )
    for name, result in extra.items():
        print(line(name, result) + f"  {result['rate'] / bare['rate']:.0%} of bare")
        print(cost(name, result))
    print(f"scan outcomes          {json.dumps(outcomes, sort_keys=True)}")
    checks = {
        f">= {TARGET_RATE:.0f} scans/s": scans["rate"] >= TARGET_RATE,
        f"p99 < {TARGET_P99_MS:.0f} ms": scans["p99_us"] / 1000 < TARGET_P99_MS,
        f">= {TARGET_RATIO:.0%} of the bare endpoint": ratio >= TARGET_RATIO,
        # wrk does not count the requests still in flight when it stops; the server finishes them
        "every scan a check-in": set(outcomes) == {"check_in:ok"}
        and outcomes["check_in:ok"] >= scans["requests"]
        and scans["non2xx"] == 0,
    }
    print("targets                " + "; ".join(f"{name}: {met_or_missed(ok)}" for name, ok in checks.items()))
    return exit_status(checks.values())


if __name__ == "__main__":
    sys.exit(main())
