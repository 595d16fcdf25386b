"""gunicorn configuration: `gunicorn -c gunicorn.conf.py` (docs/deploy.md). Every setting can be set from the environment.

Choices, and why:
- workers: GUNICORN_WORKERS (or WEB_CONCURRENCY), default 2 x CPUs + 1, sync workers. Requests are
  short and database-bound; with sync workers each process holds at most one database connection
  at a time, so PostgreSQL connections = hosts x workers (+ the scheduler), easy to budget.
  GUNICORN_THREADS > 1 switches to gthread workers (then up to that many connections per worker).
- timeout 30 s (GUNICORN_TIMEOUT): a worker silent that long is killed and replaced; its open
  transaction is rolled back by the database (nothing half-written: see docs/operations.md).
  graceful_timeout 30 s: on SIGTERM or HUP, requests under way get that long to finish.
- preload_app off (GUNICORN_PRELOAD=1 turns it on). Off, the master never imports the app: a
  `kill -HUP` starts workers that load the new code (a release without dropping connections),
  and no database connection or thread can be created before the fork and shared by workers.
  Preloading would save some memory per worker (copy-on-write), which this app does not need.
- max_requests off by default (GUNICORN_MAX_REQUESTS): recycled workers would each leave files
  in the metrics directory, which every scrape reads.
- forwarded_allow_ips (FORWARDED_ALLOW_IPS, default loopback): the reverse proxy's addresses,
  trusted for X-Forwarded-Proto (https). The client address comes from X-Forwarded-For through
  the app's ProxyFix, enabled with TRUSTED_PROXIES=1 (one proxy hop).
- logs: gunicorn's own messages as JSON on stderr (app/ops/logging.py); the access log is written by
  the app (logger `app.access`, one JSON line per request with its request id, status, duration
  and user id), so gunicorn's access log stays off instead of writing a second, poorer line.
- metrics: prometheus_client's multi-process mode. PROMETHEUS_MULTIPROC_DIR is set here before
  any worker imports prometheus_client; the directory is emptied when gunicorn starts and a dead
  worker's live gauges are dropped (child_exit). /metrics then sums every worker.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def _load_logging_module():
    """app/ops/logging.py by file path: the master must not import the app package (see preload_app)."""
    spec = importlib.util.spec_from_file_location("volunteers_logging", HERE / "app" / "ops" / "logging.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wsgi_app = "wsgi:app"
chdir = str(HERE)
bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = _env_int("GUNICORN_WORKERS", _env_int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = _env_int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 10)
preload_app = _env_bool("GUNICORN_PRELOAD", False)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = os.environ.get("GUNICORN_PROC_NAME", "volunteers-web")
# gunicorn's control socket (`gunicornc`) defaults to one path per user, which a second instance on the
# same host would take over: only where GUNICORN_CONTROL_SOCKET names a path of this instance's own.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"  # the workers' heartbeat files: never on a slow or full disk

loglevel = os.environ.get("LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = None
logconfig_dict = _load_logging_module().gunicorn_logconfig(loglevel.upper())
os.environ.setdefault("LOG_FORMAT", "json")  # the workers' own logs, same format as gunicorn's

_port = bind.rsplit(":", 1)[-1] if ":" in bind else "socket"
METRICS_DIR = Path(
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.gettempdir()) / f"volunteers-metrics-{_port}"))
)


def on_starting(server):
    """A fresh metrics directory: numbers of a previous run must not be added to this one's."""
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """A worker ended (recycled, killed or crashed): drop its live gauges; its counts stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(METRICS_DIR))
