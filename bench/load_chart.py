"""The chart of a bench/load.py run: memory, latency and throughput over time (matplotlib, in .venv-bench).

    .venv-bench/bin/python bench/load_chart.py SAMPLES.json OUT.png    (bench/load.py runs it)

SAMPLES.json is what bench/load.py writes next to the chart: a title and one sample per interval
with the resident memory of every gunicorn worker and of the scheduler, the interval's p50/p99
latency, its request rate and the machine's load average.
"""

from __future__ import annotations

import json
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter


def minutes(samples: list[dict]) -> list[float]:
    return [s["t"] / 60 for s in samples]


def draw(data: dict, out: str) -> None:
    samples = data["samples"]
    x = minutes(samples)
    figure, (memory, latency, rate) = plt.subplots(
        3, 1, figsize=(10, 9), sharex=True, gridspec_kw={"height_ratios": [3, 3, 2]}
    )
    figure.suptitle(textwrap.fill(data["title"], 110), fontsize=10)

    workers = sorted({pid for s in samples for pid in s["rss_mib"]["workers"]}, key=int)
    for n, pid in enumerate(workers):
        memory.plot(
            x,
            [s["rss_mib"]["workers"].get(pid) for s in samples],
            color="tab:blue",
            linewidth=1,
            alpha=0.8,
            label="gunicorn workers (one line each)" if n == 0 else None,
        )
    memory.plot(x, [s["rss_mib"]["scheduler"] for s in samples], color="tab:orange", linewidth=2, label="scheduler")
    memory.plot(
        x,
        [s["rss_mib"]["master"] for s in samples],
        color="tab:gray",
        linewidth=1,
        linestyle="--",
        label="gunicorn master",
    )
    memory.set_ylabel("resident memory (MiB)")
    memory.set_ylim(bottom=0)
    memory.legend(loc="lower right", fontsize=8)
    if data.get("note"):
        memory.text(
            0.01,
            0.45,
            textwrap.fill(data["note"], 100),
            transform=memory.transAxes,
            fontsize=8,
            verticalalignment="center",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "lightgray"},
        )
    memory.grid(alpha=0.3)

    latency.plot(x, [s["p99_ms"] for s in samples], color="tab:red", linewidth=2, label="p99, all requests")
    latency.plot(
        x,
        [s["scan_p99_ms"] for s in samples],
        color="tab:purple",
        linewidth=1,
        linestyle="--",
        label="p99, badge scans",
    )
    latency.plot(x, [s["p50_ms"] for s in samples], color="tab:green", linewidth=2, label="p50, all requests")
    latency.set_ylabel(f"latency per {data['interval']:.0f} s interval (ms, log)")
    latency.set_yscale("log")
    latency.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}"))
    latency.legend(loc="best", fontsize=8)
    latency.grid(alpha=0.3)

    rate.plot(x, [s["rate"] for s in samples], color="tab:blue", linewidth=2, label="requests/s")
    if any(s.get("applied_rate") for s in samples):
        rate.plot(
            x,
            [s.get("applied_rate") for s in samples],
            color="tab:cyan",
            linewidth=1,
            label="check-ins and check-outs/s",
        )
    rate.set_ylabel("per second")
    rate.set_ylim(bottom=0)
    rate.set_xlabel("minutes since the load started")
    rate.grid(alpha=0.3)
    load = rate.twinx()
    load.plot(
        x,
        [s["load1"] for s in samples],
        color="tab:gray",
        linewidth=1,
        linestyle=":",
        label="load average (1 min), 2 cores",
    )
    load.set_ylabel("load average")
    load.set_ylim(bottom=0)
    lines = rate.get_legend_handles_labels()[0] + load.get_legend_handles_labels()[0]
    rate.legend(lines, [line.get_label() for line in lines], loc="lower right", fontsize=8)

    figure.text(0.01, 0.005, data["footer"], fontsize=7, color="dimgray")
    figure.tight_layout(rect=(0, 0.02, 1, 1))
    figure.savefig(out, dpi=110)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as samples_file:
        draw(json.load(samples_file), sys.argv[2])
