"""The load side of bench/checkin.py: gunicorn servers, wrk runs, and what each request cost in CPU.

wrk (apt-get install wrk) runs a Lua script that sends live badge scans of different volunteers
(tokens prepared by bench/checkin.py). Besides wrk's rate and latency, each run reads the CPU
time used by the server's processes, by the PostgreSQL backends of the benchmark's database and
by wrk itself, per request: a cost that other work on a shared machine does not change much,
unlike the rates. Starting and stopping processes and reading their CPU time are bench/common.py's.
"""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

from common import VENV_BIN, backend_pids, cpu_seconds, free_port, server_pids, start_process, wait_ready_or_stop

# Each script: its values, then _THREADS (each wrk thread's id; POST JSON, with the bearer token when the
# script has one), its request(), then _DONE (the RESULT line run_wrk reads).
_THREADS = r"""
local counter = 0
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  label, offset, span, nthreads = args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if bearer then wrk.headers["Authorization"] = "Bearer " .. bearer end
end
"""

_DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%%d,"duration_us":%%d,"socket_errors":%%d,"non2xx":%%d,' ..
                         '"p50_us":%%d,"p99_us":%%d,"mean_us":%%.1f}\n', summary.requests, summary.duration,
                         e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50),
                         latency:percentile(99), latency.mean))
end
"""

LUA = (
    r"""
local tokens = dofile("%(tokens)s")
local event_id, bearer = %(event_id)d, "%(bearer)s"
"""
    + _THREADS
    + r"""
function request()
  local i = offset + ((counter * nthreads + tid) %% span) + 1
  counter = counter + 1
  local event, token = event_id, tokens[i]
  local body = string.format('{"event_id":%%d,"device_id":"%%s-%%d",' ..
                             '"scans":[{"client_scan_id":"c%%d","badge_token":"%%s"}]}',
                             event, label, tid, counter, token)
  return wrk.format(nil, nil, nil, body)
end
"""
    + _DONE
)

KIOSK_LUA = (
    r"""
local tokens = dofile("%(tokens)s")
local kiosk = "%(kiosk)s"
"""
    + _THREADS
    + r"""
function request()
  local i = offset + ((counter * nthreads + tid) %% span) + 1
  counter = counter + 1
  -- headers given to wrk.format replace wrk.headers: the content type goes with them
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[i]}
  return wrk.format(nil, nil, headers, '{"token":"' .. kiosk .. '"}')
end
"""
    + _DONE
)

BATCH_LUA = (
    r"""
local tokens = dofile("%(tokens)s")
local event_id, bearer, at, n = %(event_id)d, "%(bearer)s", "%(at)s", %(n)d
"""
    + _THREADS
    + r"""
function request()
  local first = offset + ((counter * nthreads + tid) * n) %% span
  counter = counter + 1
  local scans = {}
  for j = 1, n do
    scans[j] = string.format('{"client_scan_id":"c%%d-%%d","badge_token":"%%s","offline":true,"scanned_at":"%%s"}',
                             counter, j, tokens[first + j], at)
  end
  local body = string.format('{"event_id":%%d,"device_id":"%%s-%%d","scans":[%%s]}',
                             event_id, label, tid, table.concat(scans, ","))
  return wrk.format(nil, nil, nil, body)
end
"""
    + _DONE
)


def start_server(target: str, chdir: Path, env: dict, workers: int, log) -> tuple[subprocess.Popen, int]:
    port = free_port()
    # an empty config file: both servers run with exactly these settings, whatever ./gunicorn.conf.py says
    settings = Path(log.name).with_name("gunicorn.bench.conf.py")
    settings.write_text("")
    command = [
        str(VENV_BIN / "gunicorn"),
        "-c",
        str(settings),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(chdir),
        "--backlog",
        "2048",
        target,
    ]
    process = start_process(command, env, log)
    wait_ready_or_stop(
        f"http://127.0.0.1:{port}/healthz", [process], seconds=60, failure=f"{target} did not start; see its log"
    )
    return process, port


def run_wrk(
    script: Path,
    server: subprocess.Popen,
    port: int,
    url: str | None,
    args,
    seconds: int,
    label: str,
    offset: int,
    span: int,
    *,
    path: str = "/api/v1/scans",
) -> dict:
    """One wrk run; its rate and latency, and the CPU each request cost the server, PostgreSQL (`url`; None:
    SQLite, whose work is the server's own) and wrk."""
    command = [
        "wrk",
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
        "--",
        label,
        str(offset),
        str(span),
        str(args.threads),
    ]
    workers, backends = server_pids(server.pid), (backend_pids(url) if url else [])
    before = (cpu_seconds(workers), {pid: cpu_seconds([pid]) for pid in backends}, _children_cpu())
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    backends = set(backends) | set(backend_pids(url) if url else [])
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    per_request = 1000 / max(result["requests"], 1)
    result["cpu_ms"] = {
        "server": (cpu_seconds(workers) - before[0]) * per_request,
        "postgres": sum(cpu_seconds([pid]) - before[1].get(pid, 0.0) for pid in backends) * per_request,
        "wrk": (_children_cpu() - before[2]) * per_request,
    }
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cost(name: str, result: dict) -> str:
    """CPU per request, and the rate two otherwise idle cores could sustain at that cost."""
    cpu = result["cpu_ms"]
    total = sum(cpu.values())
    return (
        f"{name:<22} CPU per request: server {cpu['server']:.2f} ms + PostgreSQL {cpu['postgres']:.2f} ms + "
        f"wrk {cpu['wrk']:.2f} ms = {total:.2f} ms  → 2 idle cores: ~{2000 / total:,.0f}/s"
    )
