#!/usr/bin/env python
"""Load and soak test of the production setup: an expo morning on gunicorn + the scheduler + PostgreSQL + Redis.

    .venv/bin/python bench/load.py                      # the expo morning: 5,000 volunteers check in
    .venv/bin/python bench/load.py --soak               # 30 minutes of steady load: memory and latency drift
    .venv/bin/python bench/load.py --volunteers 1000 --city-volunteers 5000 --entries 50000   # a quick look
    .venv/bin/python bench/load.py --soak 3 --volunteers 1000 --city-volunteers 5000 --entries 50000 \
        --scanners 5 --phones 2 --phone-interval 1                                           # a quick soak

1. Seeds a fresh PostgreSQL database (volunteers_bench_load): a city of 20,000 volunteers with five
   years of verified hours (bench/ledger_data.py; 10 % membership applicants, so the committee's
   eligibility list has real work), the expo of 南城街道 whose 50 shifts start in 15 minutes with
   the first 5,000 volunteers assigned, coordinators with API tokens, a reviewer of the city committee.
   The shift reminders a real morning sent hours earlier are sent before the load starts.
2. Starts the production setup (docs/deploy.md): gunicorn with gunicorn.conf.py (its default
   workers, 2 x CPUs + 1) and `flask scheduler run`, APP_ENV=production with generated secrets,
   REDIS_URL on Redis database --redis-db (flushed first) for the rate limits, the badge-scanner
   limits raised through API_SCAN_RATE_LIMIT_PER_USER / _PER_ADDRESS (every scanner here shares one
   address, so the per-address limit would measure refusals, not throughput).
3. Drives it with locust (bench/load_users.py, run in its own venv .venv-bench, created from
   bench/requirements.txt when missing): coordinators scan badges (POST /api/v1/scans, a fresh
   rotating token each), volunteers check in at the kiosk on their phones (GET /k/<code>, the
   check-in page, POST, the result page), coordinators keep the live dashboard open (dashboard.json
   every 5 s), and the committee opens the eligibility list or downloads it every 20 s.
   Scanners and phones join one after another over --ramp seconds.
4. Prints a progress line every interval, then per request type and overall: requests, rate, p50,
   p99 and errors (socket errors and any status a step does not expect; a scan refused for a
   business reason answers 200 and is counted among the answers), the CPU split between server,
   PostgreSQL, scheduler and the load generator, the load average, and checks in the database
   that every volunteer the load scanned has exactly as many check-ins as the answers said (one,
   on the expo run). Exit status 1 on any error or mismatch.

--soak MINUTES: steady moderate load (20 scanners at one badge a second, 10 kiosk lanes); lanes go
round their volunteers again, so each is checked in, then out, then in. Every --sample-seconds the
RSS of each gunicorn worker, the master and the scheduler is read from /proc with the interval's
p50/p99 (one line each); at the end the drift (first third against last third: memory growth in
MiB, p99 ratio). Both modes write a chart (PNG) and the samples (JSON) under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    ROOT,
    VENV_BIN,
    backend_pids,
    cpu_seconds,
    flush_redis,
    free_port,
    fresh_database,
    make_app,
    new_secrets,
    server_env,
    server_pids,
    start_process,
    stop_server,
    wait_ready_or_stop,
)
from load_report import drift, memory_note, print_report, sample_line, verify
from load_seed import badge_tokens, kiosk_tokens, phone_sessions, seed

BENCH_VENV = ROOT / ".venv-bench"
RESULTS = ROOT / "bench" / "results"
USER_AGENT = "Mozilla/5.0 (Linux; Android 14) bench-load phone"
EXPO = {"scanners": 30, "scan_interval": 1.0, "phones": 40, "phone_interval": 4.0, "ramp": 60.0, "interval": 10.0}
SOAK = {"scanners": 20, "scan_interval": 1.0, "phones": 10, "phone_interval": 6.0, "ramp": 30.0, "interval": 30.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--soak",
        type=float,
        nargs="?",
        const=30.0,
        metavar="MINUTES",
        help="steady load for MINUTES (default 30) instead of the expo morning",
    )
    parser.add_argument("--database", default="volunteers_bench_load", help="PostgreSQL database to (re)create")
    parser.add_argument("--volunteers", type=int, default=5000, help="volunteers on the expo's shifts")
    parser.add_argument("--kiosk-share", type=float, default=0.3, help="share of them checking in at the kiosk")
    parser.add_argument("--city-volunteers", type=int, default=20_000, help="volunteers of the city (ledger)")
    parser.add_argument("--entries", type=int, default=300_000, help="ledger entries of the city's past years")
    parser.add_argument("--events", type=int, default=6000, help="past events of the city")
    parser.add_argument("--positions", type=int, default=50, help="posts of the expo (one shift each)")
    parser.add_argument("--scanners", type=int, help="coordinators scanning badges (expo 30, soak 20)")
    parser.add_argument("--scan-interval", type=float, help="seconds between one scanner's scans (1)")
    parser.add_argument("--phones", type=int, help="kiosk lanes: phones in use at once (expo 40, soak 10)")
    parser.add_argument("--phone-interval", type=float, help="seconds between a lane's volunteers (expo 4, soak 6)")
    parser.add_argument("--watchers", type=int, default=10, help="coordinators with the live dashboard open")
    parser.add_argument("--dashboard-interval", type=float, default=5.0)
    parser.add_argument("--committee-interval", type=float, default=20.0)
    parser.add_argument("--ramp", type=float, help="seconds over which scanners and phones join (expo 60, soak 30)")
    parser.add_argument("--max-minutes", type=float, default=15.0, help="the expo run stops here at the latest")
    parser.add_argument("--sample-seconds", type=float, help="seconds per progress line and sample (expo 10, soak 30)")
    parser.add_argument("--workers", type=int, help="GUNICORN_WORKERS (default: gunicorn.conf.py's, 2 x CPUs + 1)")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database of this bench (flushed)")
    parser.add_argument("--chart", type=Path, help="also copy the chart here (e.g. docs/img/soak.png)")
    args = parser.parse_args()
    mode = SOAK if args.soak else EXPO
    for name, value in mode.items():
        key = {"ramp": "ramp", "interval": "sample_seconds"}.get(name, name)
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def bench_python() -> Path:
    """.venv-bench's python with locust and matplotlib; the venv is made from bench/requirements.txt if missing."""
    python = BENCH_VENV / "bin" / "python"
    check = [str(python), "-c", "import locust, matplotlib"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python
    print(
        f"== creating {BENCH_VENV.name} (locust, matplotlib: bench/requirements.txt; the app's .venv is untouched)",
        flush=True,
    )
    subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-qq",
            "--disable-pip-version-check",
            "-r",
            str(ROOT / "bench" / "requirements.txt"),
        ],
        check=True,
    )
    if subprocess.run(check, capture_output=True, check=False).returncode != 0:
        sys.exit(
            f"{BENCH_VENV} has no locust: python3 -m venv {BENCH_VENV.name} && "
            f"{BENCH_VENV.name}/bin/pip install -r bench/requirements.txt"
        )
    return python


def production_env(
    url: str, keys: dict[str, str], redis_url: str, port: int, workdir: Path, workers: int | None
) -> dict:
    env = {
        **server_env(url, keys, redis_url),
        "FLASK_APP": "composition:create_app",
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "PORT": str(port),
        "SESSION_COOKIE_SECURE": "false",  # plain http on 127.0.0.1, as `make run-prod`
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
    }
    env.pop("GUNICORN_BIND", None)
    env.pop("GUNICORN_CONTROL_SOCKET", None)
    if workers:
        env["GUNICORN_WORKERS"] = str(workers)
    return env


def send_reminders_beforehand(env: dict, workdir: Path) -> None:
    """The reminders a real morning sent hours ago (2 h and 24 h before the shifts), sent before the load.

    The seed assigns everyone just now, so the scheduler's first pass would send all of them
    during the rush; `flask scheduler run-once` does it first, as the release step would.
    """
    with open(workdir / "reminders.log", "w") as log:
        for job in ("reminders", "email_outbox"):
            subprocess.run(
                [str(VENV_BIN / "flask"), "scheduler", "run-once", job],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )


def start_production(env: dict, workdir: Path) -> tuple[subprocess.Popen, subprocess.Popen]:
    """gunicorn -c gunicorn.conf.py and flask scheduler run, each with its log; waits for /readyz."""
    with open(workdir / "gunicorn.log", "w") as web_log, open(workdir / "scheduler.log", "w") as scheduler_log:
        web = start_process([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py"], env, web_log, cwd=ROOT)
        scheduler = start_process([str(VENV_BIN / "flask"), "scheduler", "run"], env, scheduler_log, cwd=ROOT)
    wait_ready_or_stop(
        f"http://127.0.0.1:{env['PORT']}/readyz",
        [web, scheduler],
        seconds=90,
        failure=f"gunicorn did not become ready; see {workdir / 'gunicorn.log'}",
    )
    return web, scheduler


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Sampler:
    """Memory of each process and the CPU each group used since the last sample, with the load average."""

    def __init__(self, web: subprocess.Popen, scheduler: subprocess.Popen, load: subprocess.Popen, url: str):
        self.web, self.scheduler, self.load, self.url = web, scheduler, load, url
        self.workers_seen: set[int] = set()
        self.cpu_before: dict[str, float] = {}
        self.backend_cpu: dict[int, float] = {}
        self.cpu_total: dict[str, float] = {}
        self.take_cpu()

    def take_cpu(self) -> dict[str, float]:
        backends = backend_pids(self.url)
        now = {pid: cpu_seconds([pid]) for pid in backends}
        postgres = sum(value - self.backend_cpu.get(pid, 0.0) for pid, value in now.items())
        self.backend_cpu.update(now)
        current = {
            "web": cpu_seconds(server_pids(self.web.pid)),
            "scheduler": cpu_seconds([self.scheduler.pid]),
            "load generator": cpu_seconds([self.load.pid]),
        }
        used = {name: value - self.cpu_before.get(name, value) for name, value in current.items()}
        used["PostgreSQL"] = postgres
        self.cpu_before = current
        for name, value in used.items():
            self.cpu_total[name] = self.cpu_total.get(name, 0.0) + value
        return used

    def sample(self, line: dict) -> dict:
        workers = [pid for pid in server_pids(self.web.pid) if pid != self.web.pid]
        self.workers_seen.update(workers)
        return {
            **line,
            "load1": os.getloadavg()[0],
            "cpu_s": self.take_cpu(),
            "rss_mib": {
                "master": rss_mib(self.web.pid),
                "scheduler": rss_mib(self.scheduler.pid),
                "load generator": rss_mib(self.load.pid),
                "workers": {str(pid): rss_mib(pid) for pid in sorted(workers)},
            },
        }


def warn_of_repeats(plan: dict, repeat_seconds: int) -> None:
    """On a soak each volunteer comes round again: sooner than the repeat window, a scan changes nothing."""
    rounds = []
    if plan["scanners"]:
        rounds.append(len(plan["badge_volunteers"]) / plan["scanners"] * plan["scan_interval"])
    if plan["phones"]:
        rounds.append(len(plan["kiosk_volunteers"]) / plan["phones"] * plan["phone_interval"])
    if rounds and min(rounds) <= repeat_seconds:
        print(
            f"!! a volunteer comes round every {min(rounds):.0f} s, within CHECKIN_REPEAT_SECONDS "
            f"({repeat_seconds} s): those scans are repeats that change nothing; use more --volunteers or "
            f"fewer --scanners / --phones",
            flush=True,
        )


def make_plan(args, facts: dict, app, base_url: str, workdir: Path) -> dict:
    """Who checks in how (badge or kiosk), their tokens for every window of the run, and the staff."""
    from checkin.tokens import window_seconds

    volunteers = list(facts["volunteer_ids"])
    random.Random(2026).shuffle(volunteers)
    kiosk_count = round(len(volunteers) * args.kiosk_share) if args.phones else 0
    kiosk, badge = volunteers[:kiosk_count], volunteers[kiosk_count:]
    minutes = args.soak if args.soak else args.max_minutes
    with app.app_context():
        window = window_seconds()
    windows = int((minutes * 60 + args.ramp + 120) // window) + 3
    first, badges = badge_tokens(app, badge, windows=windows)
    host = base_url.split("//", 1)[1].split(":", 1)[0]
    return {
        "base_url": base_url,
        "host": host,
        "event_id": facts["event_id"],
        "cycle": bool(args.soak),
        "window_seconds": window,
        "first_window": first,
        "windows": windows,
        "scanners": args.scanners if badge else 0,
        "scan_interval": args.scan_interval,
        "bearers": facts["bearers"],
        "badge_volunteers": badge,
        "badge_tokens": badges,
        "phones": args.phones if kiosk else 0,
        "phone_interval": args.phone_interval,
        "kiosk_volunteers": kiosk,
        "kiosk_tokens": kiosk_tokens(app, facts["event_id"], windows=windows),
        "kiosk_sessions": phone_sessions(app, kiosk, USER_AGENT),
        "user_agent": USER_AGENT,
        "session_cookie": app.config.get("SESSION_COOKIE_NAME", "session"),
        "watchers": args.watchers,
        "dashboard_interval": args.dashboard_interval,
        "watcher_mobiles": facts["watcher_mobiles"],
        "committee": 1,
        "committee_interval": args.committee_interval,
        "reviewer_mobile": facts["reviewer_mobile"],
        "password": facts["password"],
        "ramp_seconds": args.ramp,
        "interval": args.sample_seconds,
        "max_seconds": minutes * 60 + (0 if args.soak else args.ramp),
        "result_path": str(workdir / "result.json"),
    }


def run_load(python: Path, plan_path: Path, web, scheduler, url: str, args, workdir: Path, total: int):
    """Run the locust side; a progress line (and sample) per interval; the result and the samples."""
    with open(workdir / "locust.log", "w") as log:
        load = subprocess.Popen(
            [str(python), str(ROOT / "bench" / "load_users.py"), str(plan_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    sampler = Sampler(web, scheduler, load, url)
    samples, result_path = [], None
    last = {"check_ins": 0, "applied": 0}
    for raw in load.stdout:
        if raw.startswith("INTERVAL "):
            line = json.loads(raw[len("INTERVAL ") :])
            for key, before in last.items():
                line[f"{key}_rate"] = (line[key] - before) / line["seconds"] if line["seconds"] else 0.0
                last[key] = line[key]
            samples.append(sampler.sample(line))
            print(sample_line(samples[-1], soak=bool(args.soak), total=total), flush=True)
        elif raw.startswith("RESULT "):
            result_path = raw.split(" ", 1)[1].strip()
        else:
            print(raw, end="")
    load.wait()
    if load.returncode != 0 or result_path is None:
        sys.exit(f"the load generator failed (exit {load.returncode}); see {workdir / 'locust.log'}")
    return json.loads(Path(result_path).read_text()), samples, sampler


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    memory = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    return f"{os.cpu_count()} cores ({model}), {memory / 1024**2:.0f} GiB"


def write_chart(python: Path, samples: list[dict], args, title: str, footer: str, note: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"{'soak' if args.soak else 'expo'}-{time.strftime('%Y%m%d-%H%M%S')}"
    data_path, chart = RESULTS / f"{name}.json", RESULTS / f"{name}.png"
    data_path.write_text(
        json.dumps(
            {"title": title, "footer": footer, "note": note, "interval": args.sample_seconds, "samples": samples},
            indent=1,
        )
    )
    subprocess.run([str(python), str(ROOT / "bench" / "load_chart.py"), str(data_path), str(chart)], check=True)
    if args.chart:
        args.chart.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(chart, args.chart)
    return chart


def main() -> int:
    args = parse_args()
    python = bench_python()
    redis_url = flush_redis(args.redis_db)
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    print(
        f"== machine: {machine()}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"logs in {workdir}",
        flush=True,
    )
    url = fresh_database(args.database)
    port = free_port()
    keys = new_secrets()
    env = production_env(url, keys, redis_url, port, workdir, args.workers)
    app = make_app(url, **keys, RATELIMIT_ENABLED=False)
    began = time.monotonic()
    print(f"== seeding {args.database}", flush=True)
    facts = seed(app, args, lambda text: print(f"   {text}", flush=True))
    print(f"   seeded in {time.monotonic() - began:.0f} s", flush=True)
    began = time.monotonic()
    send_reminders_beforehand(env, workdir)
    print(f"   the shift reminders of the morning sent beforehand ({time.monotonic() - began:.0f} s)", flush=True)
    web, scheduler = start_production(env, workdir)
    workers = len(server_pids(web.pid)) - 1
    try:
        plan = make_plan(args, facts, app, f"http://127.0.0.1:{port}", workdir)
        plan_path = workdir / "plan.json"
        plan_path.write_text(json.dumps(plan))
        if args.soak:
            warn_of_repeats(plan, app.config["CHECKIN_REPEAT_SECONDS"])
        what = (
            f"{'soak ' + format(args.soak, 'g') + ' min' if args.soak else 'expo morning'}: "
            f"{len(plan['badge_volunteers']):,} volunteers by badge ({plan['scanners']} scanners, one scan every "
            f"{args.scan_interval:g} s each), {len(plan['kiosk_volunteers']):,} at the kiosk ({plan['phones']} "
            f"phones at once), {args.watchers} dashboards every {args.dashboard_interval:g} s, the committee's "
            f"eligibility list every {args.committee_interval:g} s; ramp {args.ramp:g} s"
        )
        print(
            f"== production setup: gunicorn -c gunicorn.conf.py ({workers} sync workers) + flask scheduler run, "
            f"APP_ENV=production, Redis db {args.redis_db}, on 127.0.0.1:{port}",
            flush=True,
        )
        print(f"== {what}", flush=True)
        result, samples, sampler = run_load(
            python, plan_path, web, scheduler, url, args, workdir, len(facts["volunteer_ids"])
        )
    finally:
        stop_server(web, scheduler)
        (workdir / "plan.json").unlink(missing_ok=True)  # API tokens and session cookies
    checks = verify(url, plan, result, soak=bool(args.soak))
    note = drift(samples) if args.soak else memory_note(samples)
    footer = (
        f"{machine()}; gunicorn {workers} sync workers + scheduler, PostgreSQL 15, Redis, locust — all on the "
        f"same machine, shared with other work; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    chart = write_chart(python, samples, args, f"bench/load.py — {what}", footer, note)
    failed = print_report(
        result,
        samples,
        sampler.cpu_total,
        checks,
        soak=bool(args.soak),
        workers=workers,
        restarted=len(sampler.workers_seen) - workers,
    )
    print(note)
    print(
        f"chart: {chart.relative_to(ROOT)}"
        + (f" (copied to {args.chart})" if args.chart else "")
        + f"; samples: {chart.with_suffix('.json').relative_to(ROOT)}; logs: {workdir}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
