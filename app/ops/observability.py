"""Operations endpoints and hooks: request ids, the access log, /readyz and Prometheus /metrics.

- Every request gets an id: the caller's X-Request-ID when it looks sane (the proxy sets one),
  otherwise a new one. It is on every log line of the request (app/ops/logging.py) and echoed in
  the response's X-Request-ID header.
- One access line per request (logger `app.access`, JSON in production): method, path, status,
  duration_ms, endpoint, user_id, remote_addr. gunicorn writes no access log of its own.
- /readyz: 200 only when the database answers and its schema is at the migrations' head.
  /healthz (liveness, always 200) stays in the factory.
- /metrics: Prometheus text format. Requests and latency by endpoint and status; scans, check-ins
  and check-outs counted when their transaction commits (a SQLAlchemy session hook: the check-in
  services know nothing of metrics); scheduled job runs read from the job_runs table at scrape
  time (the scheduler is another process, maybe on another host). Under gunicorn the workers'
  numbers are summed through PROMETHEUS_MULTIPROC_DIR (see gunicorn.conf.py). Only callers from
  METRICS_ALLOWED_IPS (default loopback, and never through an untrusted proxy) or with
  `Authorization: Bearer <METRICS_TOKEN>` may read it.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TypeVar

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, limiter

log = logging.getLogger(__name__)
access_log = logging.getLogger("app.access")

_Metric = TypeVar("_Metric", bound=MetricWrapperBase)

bp = Blueprint("ops", __name__)
limiter.exempt(bp)

#: an incoming X-Request-ID is kept only if it looks like an id (nginx's $request_id, a UUID, ...)
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

REQUESTS = Counter(
    "volunteers_http_requests", "HTTP requests answered, by endpoint and status.", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "volunteers_http_request_duration_seconds",
    "Time to answer a request, by endpoint and status.",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


@functools.lru_cache(maxsize=4096)
def child(metric: _Metric, *labels: str) -> _Metric:
    """metric.labels(*labels), kept for the next time (a labelled child lives as long as its metric; the label
    values come from a short list: endpoints, statuses, methods, outcomes)."""
    return metric.labels(*labels)


# -- request id and access log ------------------------------------------------------------------


def request_id() -> str:
    """The current request's id."""
    return g.get("request_id") or "-"


def _start_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    started = g.get("request_started")
    duration = time.perf_counter() - started if started is not None else 0.0
    endpoint = request.endpoint or "unmatched"  # unknown URLs share one label: no label per probed path
    status = str(response.status_code)
    child(REQUESTS, request.method, endpoint, status).inc()
    child(LATENCY, request.method, endpoint, status).observe(duration)
    response.headers["X-Request-ID"] = request_id()
    access_log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "status": response.status_code,
            "duration_ms": round(duration * 1000, 1),
            "endpoint": endpoint,
            "remote_addr": request.remote_addr,
            "bytes": response.content_length,  # never buffers a stream
        },
    )
    return response


# -- scheduler job runs, read from the database at scrape time -----------------------------------


class JobRunsCollector:
    """Runs of each scheduled job kept in job_runs (30 days), and when each last finished, by status."""

    def collect(self) -> Iterator[Metric]:
        from app.scheduling.jobs import JobRun
        from app.scheduling.scheduler import registered_jobs

        runs = GaugeMetricFamily(
            "volunteers_scheduler_job_runs",
            "Runs of each scheduled job recorded in job_runs (kept 30 days), by status.",
            labels=["job", "status"],
        )
        finished = GaugeMetricFamily(
            "volunteers_scheduler_job_last_finished_timestamp_seconds",
            "When the last run of each job with this status finished (Unix time).",
            labels=["job", "status"],
        )
        try:
            rows = db.session.execute(
                select(JobRun.job, JobRun.status, func.count(), func.max(JobRun.finished_at)).group_by(
                    JobRun.job, JobRun.status
                )
            ).all()
        except SQLAlchemyError:
            db.session.rollback()
            log.warning("job runs could not be read for /metrics")
            return
        seen = set()
        for job, status, count, last in rows:
            seen.add((job, status))
            runs.add_metric([job, status], count)
            if last is not None:
                finished.add_metric([job, status], last.timestamp())
        for name in registered_jobs():
            for status in ("ok", "failed"):
                if (name, status) not in seen:
                    runs.add_metric([name, status], 0)
        yield runs
        yield finished


class _ThisProcess:
    """The default registry's metrics (this process only: used when not under multi-process gunicorn)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def metrics_registry() -> CollectorRegistry:
    """What one scrape reports: every worker's metrics (multi-process mode) or this process's, plus job runs."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(JobRunsCollector())
    return registry


def _allowed_networks() -> list:
    value = current_app.config.get("METRICS_ALLOWED_IPS") or os.environ.get("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
    networks = []
    for part in str(value).split(","):
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            continue
    return networks


def metrics_allowed() -> bool:
    """The right METRICS_TOKEN as a bearer token, or a caller address in METRICS_ALLOWED_IPS.

    A request relayed by a proxy the app does not trust (X-Forwarded-For without TRUSTED_PROXIES)
    is never taken for a local one: its address is the proxy's.
    """
    token = current_app.config.get("METRICS_TOKEN") or os.environ.get("METRICS_TOKEN", "")
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    trusts_proxy = current_app.config.get("TRUSTED_PROXIES", int(os.environ.get("TRUSTED_PROXIES", "0") or 0))
    if "X-Forwarded-For" in request.headers and not trusts_proxy:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in _allowed_networks())


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus metrics, for allowed addresses or the metrics token."""
    if not metrics_allowed():
        return jsonify(
            error={
                "code": "metrics_forbidden",
                "message": _("Metrics are served to allowed addresses or with the metrics token."),
            }
        ), 403
    return Response(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


# -- readiness ----------------------------------------------------------------------------------


def migration_revisions(app: Flask) -> tuple[tuple[str, ...], frozenset[str]]:
    """The migrations' head revision(s) and every revision this code knows (read once per process)."""
    cached = app.extensions.get("ops_migration_revisions")
    if cached is None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", app.extensions["migrate"].directory)
        script = ScriptDirectory.from_config(config)
        cached = (tuple(sorted(script.get_heads())), frozenset(rev.revision for rev in script.walk_revisions()))
        app.extensions["ops_migration_revisions"] = cached
    return cached


def redis_state() -> str:
    """The shared rate-limit storage: "ok", "degraded" (unreachable: each process counts alone, in memory, until
    it answers again) or "not_used" (memory storage configured). A worker stays ready without Redis."""
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    if not uri.startswith(("redis://", "rediss://")):
        return "not_used"
    import redis

    client = redis.Redis.from_url(uri, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        log.warning("readiness: Redis unavailable (%s); rate limits count per process", type(exc).__name__)
        return "degraded"
    finally:
        client.close()
    return "ok"


def readiness() -> tuple[dict, int]:
    """Whether this worker should get traffic: the database answers and its schema is this code's head."""
    heads, known = migration_revisions(current_app._get_current_object())  # type: ignore[attr-defined]  # current_app is a LocalProxy; Flask types it as the Flask app it stands for
    answer = {"status": "not_ready", "database": "unavailable", "migrations": "unknown", "head": list(heads)}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("readiness: database unavailable (%s)", type(exc).__name__)
        return {**answer, "reason": "database_unavailable"}, 503
    answer["database"] = "ok"
    try:
        revisions = sorted(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except SQLAlchemyError:
        db.session.rollback()
        return {**answer, "migrations": "missing", "revision": [], "reason": "not_migrated"}, 503
    answer["revision"] = revisions
    if tuple(revisions) == heads:
        return {**answer, "status": "ready", "migrations": "current", "redis": redis_state()}, 200
    if any(revision not in known for revision in revisions):
        return {**answer, "migrations": "ahead", "reason": "schema_newer_than_code"}, 503
    return {**answer, "migrations": "pending", "reason": "migrations_pending"}, 503


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness for the load balancer and the release script: database up and migrations current (Redis is
    reported, but a worker without it still serves: its rate limits fall back to memory)."""
    body, status = readiness()
    return jsonify(body), status


def init_observability(app: Flask) -> None:
    """Install the request-id and access-log hooks, the /readyz and /metrics endpoints."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)  # first: time the whole request
    app.after_request(_finish_request)
    app.register_blueprint(bp)
