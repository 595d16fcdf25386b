"""The scheduler process: `flask scheduler run`, exactly one active per deployment.

Web workers never start it (nothing in the application factory imports this module's
runner). The process first takes the database lock (app/scheduling/lock.py) and holds it
while APScheduler runs the jobs; a second process waits and retries, so it takes over when
the holder dies. Jobs come from the areas' `tasks.py` modules, declared in each area's `area.py`; each is
guarded once per period (app/scheduling/jobs.py). See docs/scheduler.md.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.scheduling.jobs import Job, JobRun, job_period
from app.scheduling.lock import Lock, make_lock
from app.timeutil import utcnow

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


def registered_jobs(app: Flask | None = None) -> dict[str, Job]:
    """Every scheduled job by name, as the areas declared them (app/areas.py)."""
    return dict((app or current_app).extensions["jobs"])


def execute_job(app: Flask, job: Job, now: datetime | None = None, *, force: bool = False) -> object:
    """Run one job in its own application context (what the scheduler's threads call)."""
    with app.app_context():
        return job.func(now or utcnow(), force=force)


def _execute_logged(app: Flask, job: Job) -> None:
    # Any failure was already logged by run_guarded; the scheduler keeps going.
    with contextlib.suppress(Exception):
        execute_job(app, job)


def _aligned_start(now: datetime, every: timedelta) -> datetime:
    """The start of the current period, plus a few seconds: runs land well inside their period."""
    seconds = int(every.total_seconds())
    offset = min(3, seconds // 2)  # 3 s; mid-period for the short periods of SCHEDULER_JOB_PERIODS
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds + offset, UTC)


def build_scheduler(app: Flask, lock: Lock, lost: threading.Event) -> BackgroundScheduler:
    """An APScheduler with every job plus the lock heartbeat (which sets `lost` if the lock is gone)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(4), "heartbeat": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )

    def heartbeat() -> None:
        if not lost.is_set() and not lock.refresh(utcnow()):
            log.error("scheduler lock lost; stopping the jobs")
            lost.set()

    scheduler.add_job(
        heartbeat, "interval", seconds=app.config["SCHEDULER_HEARTBEAT_SECONDS"], id="heartbeat", executor="heartbeat"
    )
    now = utcnow()
    jobs = registered_jobs(app)
    for name in set(app.config.get("SCHEDULER_JOB_PERIODS") or {}) - set(jobs):
        log.warning("SCHEDULER_JOB_PERIODS names no job %r", name)
    for job in jobs.values():
        # Runs fall on period boundaries (plus 3 s), one per period.
        every = job_period(job.name, job.every, app.config)
        scheduler.add_job(
            _execute_logged,
            "interval",
            seconds=int(every.total_seconds()),
            start_date=_aligned_start(now, every),
            args=(app, job),
            id=job.name,
            name=job.name,
        )
    return scheduler


def _run_all_once(app: Flask, *stops: threading.Event) -> None:
    """Every job once right after taking the lock (the period guard skips what already ran)."""
    for job in registered_jobs(app).values():
        if any(stop.is_set() for stop in stops):
            return
        _execute_logged(app, job)


def run_scheduler(
    app: Flask,
    *,
    stop: threading.Event,
    lock: Lock | None = None,
    on_acquired: Callable[[Lock], object] | None = None,
) -> None:
    """Wait for the lock, run the jobs while it is held, go back to waiting if it is lost; until `stop`."""
    lock = lock or make_lock(app)
    retry = app.config["SCHEDULER_RETRY_SECONDS"]
    waiting_logged = False
    try:
        while not stop.is_set():
            try:
                acquired = lock.acquire(utcnow())
            except SQLAlchemyError:
                log.warning("database unavailable while taking the scheduler lock; retrying")
                acquired = False
            if not acquired:
                if not waiting_logged:
                    log.info("scheduler lock is held by another process; standing by (%s)", lock.holder_id)
                    waiting_logged = True
                stop.wait(retry)
                continue
            waiting_logged = False
            log.info("scheduler lock acquired (%s, %s lock); starting jobs", lock.holder_id, lock.kind)
            _run_while_held(app, lock, stop, on_acquired)
    finally:
        lock.dispose()


def _run_while_held(
    app: Flask, lock: Lock, stop: threading.Event, on_acquired: Callable[[Lock], object] | None
) -> None:
    lost = threading.Event()
    scheduler = build_scheduler(app, lock, lost)
    scheduler.start()
    # Not an APScheduler "date" job: removing a finished one races with shutdown in APScheduler 3.
    startup = threading.Thread(target=_run_all_once, args=(app, stop, lost), name="scheduler-startup-run", daemon=True)
    startup.start()
    try:
        if on_acquired is not None:
            on_acquired(lock)
        while not (stop.is_set() or lost.is_set()):
            stop.wait(0.5)
    finally:
        scheduler.shutdown(wait=True)
        startup.join()
        try:
            lock.release()
        except SQLAlchemyError:
            log.warning("could not release the scheduler lock; it expires on its own")
        log.info("scheduler stopped (%s)", "lock lost" if lost.is_set() else "asked to stop")


scheduler_cli = AppGroup("scheduler", help="Scheduled jobs (run exactly one `run` per deployment).")


@scheduler_cli.command("run")
@click.option("--holder-id", default=None, help="Name of this instance in the lock (default host:pid:random).")
def run_command(holder_id: str | None) -> None:
    """Run the scheduler in the foreground until SIGTERM/SIGINT; stands by while another instance holds the lock."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler.executors.heartbeat", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is a LocalProxy; Flask types it as the Flask app it stands for
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_scheduler(app, stop=stop, lock=make_lock(app, holder_id=holder_id))


def _parse_time(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use an ISO time such as 2026-03-01T09:00+08:00") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@scheduler_cli.command("run-once")
@click.argument("job_name")
@click.option("--at", "at", default=None, help="Run as if it were this time (ISO 8601; UTC without an offset).")
@click.option("--force", is_flag=True, help="Run even if this period already ran (the job still sends nothing twice).")
def run_once_command(job_name: str, at: str | None, force: bool) -> None:
    """Run one job now, by hand (same guard as the scheduler)."""
    jobs = registered_jobs()
    if job_name not in jobs:
        raise click.BadParameter(f"unknown job; choose from: {', '.join(sorted(jobs))}", param_hint="JOB_NAME")
    result = jobs[job_name].func(_parse_time(at), force=force)
    if result is None:
        click.echo(f"{job_name}: already ran for this period; nothing done (use --force to run again)")
    else:
        click.echo(f"{job_name}: {result}")


@scheduler_cli.command("jobs")
def list_jobs_command() -> None:
    """List the scheduled jobs and how often each runs."""
    for job in registered_jobs().values():
        every = job_period(job.name, job.every)
        changed = "  (SCHEDULER_JOB_PERIODS)" if every != job.every else ""
        click.echo(f"{job.name:<16} every {every}  {job.description}{changed}")


@scheduler_cli.command("status")
def status_command() -> None:
    """Show who holds the scheduler lock and each job's last run."""
    lock = make_lock(current_app)
    try:
        click.echo(f"lock ({lock.kind}): {lock.holder() or 'free'}")
    finally:
        lock.dispose()
    last = dict(db.session.execute(select(JobRun.job, func.max(JobRun.id)).group_by(JobRun.job)).tuples().all())
    for name in registered_jobs():
        run = db.session.get(JobRun, last[name]) if name in last else None
        if run is None:
            click.echo(f"{name:<16} never ran")
        else:
            click.echo(f"{name:<16} {run.status:<8} {run.started_at:%Y-%m-%d %H:%M:%S}Z {run.result}")
