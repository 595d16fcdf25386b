"""What bench/load.py prints: the progress lines, the final table, the database check and the soak's drift."""

from __future__ import annotations

import statistics

from common import connect, table_row

#: the widths of the columns of the final table
COLUMNS = [34, 9, 8, 8, 8, 8, 8, 7]


def _ms(value) -> str:
    return "     -" if value is None else f"{value:6.1f}"


def sample_line(sample: dict, *, soak: bool, total: int) -> str:
    """One progress line per interval (the soak's also shows every process's memory)."""
    t = sample["t"]
    head = (
        f"{int(t // 60):3d}:{int(t % 60):02d}  {sample['rate']:6.1f} req/s  p50 {_ms(sample['p50_ms'])} ms  "
        f"p99 {_ms(sample['p99_ms'])} ms  scans p99 {_ms(sample['scan_p99_ms'])} ms  errors {sample['errors']}"
    )
    if not soak:
        return (
            f"{head}  check-ins {sample['check_ins']:,}/{total:,} ({sample['check_ins_rate']:.0f}/s)  "
            f"load {sample['load1']:.2f}"
        )
    rss = sample["rss_mib"]
    workers = [v for v in rss["workers"].values() if v is not None]
    memory = (
        f"RSS workers {len(workers)}× {min(workers):.0f}-{max(workers):.0f} MiB (Σ {sum(workers):.0f})  "
        if workers
        else "RSS workers -  "
    )
    return f"{head}  {memory}scheduler {rss['scheduler'] or 0:.0f} MiB  load {sample['load1']:.2f}"


def verify(url: str, plan: dict, result: dict, *, soak: bool) -> dict:
    """Compare the database with what the load was answered: check-ins per volunteer, scans, open attendances."""
    event = plan["event_id"]
    with connect(url) as conn:
        attendances = dict(
            conn.execute(
                "SELECT user_id, count(*) FROM attendances WHERE event_id = %s GROUP BY user_id", (event,)
            ).fetchall()
        )
        most_open = conn.execute(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM attendances WHERE status = 'open' "
            "GROUP BY user_id) AS o"
        ).fetchone()[0]
        check_in_scans = dict(
            conn.execute(
                "SELECT user_id, count(*) FROM scans WHERE event_id = %s AND action = 'check_in' AND result = 'ok' "
                "GROUP BY user_id",
                (event,),
            ).fetchall()
        )
        outcomes = dict(
            conn.execute(
                "SELECT method || ' ' || action || ':' || result, count(*) FROM scans WHERE event_id = %s GROUP BY 1",
                (event,),
            ).fetchall()
        )
    seen = {int(k): v for k, v in result["check_ins"].items()}
    attempted = set(result["attempted"])
    wrong = [
        uid
        for uid in sorted(attempted | set(attendances))
        if uid not in attempted
        or attendances.get(uid, 0) != seen.get(uid, 0)
        or check_in_scans.get(uid, 0) != attendances.get(uid, 0)
        or (not soak and attendances.get(uid) != 1)
    ]
    return {
        "attempted": len(attempted),
        "attendances": sum(attendances.values()),
        "check_in_scans": sum(check_in_scans.values()),
        "most_open": most_open,
        "outcomes": outcomes,
        "wrong": wrong,
        "ok": not wrong and most_open <= 1,
    }


def print_report(
    result: dict, samples: list[dict], cpu: dict[str, float], checks: dict, *, soak: bool, workers: int, restarted: int
) -> bool:
    """The table per request type and overall, CPU, load average, answers and the check; True when it failed."""
    seconds = result["seconds"]
    print("\n" + table_row(["request", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"], COLUMNS))
    rows = (
        [r for r in result["types"] if not r["name"].startswith("login")]
        + [result["overall"]]
        + [r for r in result["types"] if r["name"].startswith("login")]
    )
    for row in rows:
        if row is result["overall"]:
            print("-" * 98)
        figures = [_ms(row[key]) for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms")]
        print(table_row([row["name"], f"{row['requests']:,}", float(row["rate"]), *figures, row["errors"]], COLUMNS))
    check_ins = sum(int(v) for v in result["check_ins"].values())
    applied = sum(v for k, v in result["answers"].items() if k.endswith((" check_in:ok", " check_out:ok")))
    peak = max((s["applied_rate"] for s in samples), default=0)
    print(
        f"\nmeasured over {seconds:.0f} s; check-ins answered: {check_ins:,}, check-outs: {applied - check_ins:,} "
        f"({applied / seconds:.1f}/s on average, {peak:.1f}/s in the busiest interval)"
        + ("; the run hit --max-minutes" if result["timed_out"] else "")
    )
    loads = [s["load1"] for s in samples]
    if loads:
        print(
            f"load average (1 min) during the run: min {min(loads):.2f}, mean {statistics.fmean(loads):.2f}, "
            f"max {max(loads):.2f} on 2 cores (everything runs here: server, PostgreSQL, Redis, locust, "
            f"and other engineers' work)"
        )
    requests = max(result["overall"]["requests"], 1)
    total_cpu = sum(cpu.values())
    print(
        "CPU used: "
        + ", ".join(f"{name} {value:.0f} s ({value / total_cpu:.0%})" for name, value in cpu.items())
        + f"; {total_cpu * 1000 / requests:.1f} ms of CPU per request in all"
        if total_cpu
        else "CPU used: -"
    )
    print(
        f"gunicorn: {workers} workers"
        + (f", {restarted} replaced during the run (timeouts or crashes)" if restarted else ", none replaced")
    )
    print("answers seen by the load: " + ", ".join(f"{k} {v:,}" for k, v in sorted(result["answers"].items())))
    print("scans in the database:    " + ", ".join(f"{k} {v:,}" for k, v in sorted(checks["outcomes"].items())))
    for kind, count in result["error_kinds"].items():
        print(f"error: {kind} ×{count}")
    for crash in result["exceptions"]:  # an exception inside a simulated user (the load's own fault)
        print(f"load generator exception: {crash['message']} ×{crash['count']}")
    rule = "exactly as many check-ins as answered" if soak else "exactly one check-in"
    print(
        f"database check: {checks['attempted']:,} volunteers scanned, {checks['attendances']:,} attendances, "
        f"{checks['check_in_scans']:,} check-in scans; every volunteer scanned has {rule}: "
        + ("yes" if not checks["wrong"] else f"NO for {len(checks['wrong'])} (e.g. ids {checks['wrong'][:5]})")
        + f"; open attendances per volunteer at most {checks['most_open']}"
    )
    errors = result["overall"]["errors"] + result["login_errors"]
    failed = (
        bool(errors)
        or not checks["ok"]
        or result["timed_out"]
        or bool(result["stopped_in_flight"])
        or bool(result["exceptions"])
    )
    print(
        f"verdict: {'FAILED' if failed else 'passed'} ({errors} errors"
        + (f", {result['stopped_in_flight']} flows cut at the stop" if result["stopped_in_flight"] else "")
        + ")"
    )
    return failed


def drift(samples: list[dict]) -> str:
    """First third against last third (the first sample, the ramp, left out): memory growth and p99 ratio.

    Memory: the mean of each third; latency: the median of the intervals' p50 and p99 in each third.
    """
    usable = samples[1:] if len(samples) >= 6 else samples
    k = max(len(usable) // 3, 1)
    first, last = usable[:k], usable[-k:]

    def workers_total(s: dict) -> float:
        return sum(v for v in s["rss_mib"]["workers"].values() if v is not None)

    def mean(rows, pick) -> float:
        values = [pick(r) for r in rows if pick(r) is not None]
        return statistics.fmean(values) if values else 0.0

    web = mean(last, workers_total) - mean(first, workers_total)
    scheduler = mean(last, lambda s: s["rss_mib"]["scheduler"]) - mean(first, lambda s: s["rss_mib"]["scheduler"])

    def median(rows, key) -> float:  # one busy interval (a neighbour's test run) must not decide the drift
        values = [r[key] for r in rows if r[key] is not None]
        return statistics.median(values) if values else 0.0

    p99 = median(last, "p99_ms") / max(median(first, "p99_ms"), 1e-9)
    p50 = median(last, "p50_ms") / max(median(first, "p50_ms"), 1e-9)
    workers = max(len(first[0]["rss_mib"]["workers"]), 1)
    return (
        f"drift, first third vs last third ({k} samples each, from {usable[0]['t'] / 60:.1f} min): "
        f"memory of the {workers} workers {web:+.1f} MiB in all ({web / workers:+.1f} MiB each), scheduler "
        f"{scheduler:+.1f} MiB; p99 ×{p99:.2f}, p50 ×{p50:.2f} (medians of the intervals); load average "
        f"{mean(first, lambda s: s['load1']):.2f} → {mean(last, lambda s: s['load1']):.2f}"
    )


def memory_note(samples: list[dict]) -> str:
    """Resident memory of the workers and the scheduler at the first and the last sample."""

    def span(sample: dict) -> str:
        workers = [v for v in sample["rss_mib"]["workers"].values() if v is not None]
        return f"{min(workers):.0f}-{max(workers):.0f} MiB" if workers else "-"

    first, last = samples[0], samples[-1]
    return (
        f"memory: workers {span(first)} at the first sample, {span(last)} at the last; scheduler "
        f"{first['rss_mib']['scheduler'] or 0:.0f} → {last['rss_mib']['scheduler'] or 0:.0f} MiB"
    )
