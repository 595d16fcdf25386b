"""Scheduled jobs: their description and the once-per-period guard (table `job_runs`).

A job is a plain function `func(now)` in an area's `tasks.py` (e.g. events/tasks.py). It
calls `run_guarded(name, now, every, work)`: the row (job, period key) is inserted and
committed before the work starts, and the unique constraint lets only one run per period
through, however many times or processes start it. The work itself stays idempotent
(Notification.dedupe_key, guarded UPDATEs), so even a forced re-run sends nothing twice.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import String, UniqueConstraint, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, db, rowcount
from app.timeutil import UTCDateTime

log = logging.getLogger(__name__)


class JobRun(Model):
    """One run of a scheduled job for one period (e.g. reminders for 10:05-10:10 UTC)."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    #: start of the period in UTC ("2026-03-01T02:05:00Z"), or "manual:<time>:<random>" for a forced run
    period_key: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: "running", "ok" or "failed"
    status: Mapped[str] = mapped_column(String(10), default="running")
    #: what the run did, e.g. "12 sent"
    result: Mapped[str] = mapped_column(String(200), default="")


@dataclass(frozen=True)
class Job:
    """A scheduled job: its name, its function `func(now)` and how often it runs."""

    name: str
    func: Callable[..., object]
    every: timedelta
    description: str = ""


def job_period(name: str, every: timedelta, config: Mapping[str, Any] | None = None) -> timedelta:
    """How often job `name` runs: `every`, unless SCHEDULER_JOB_PERIODS gives it a period in seconds."""
    overrides = (current_app.config if config is None else config).get("SCHEDULER_JOB_PERIODS") or {}
    seconds = overrides.get(name)
    return timedelta(seconds=seconds) if seconds else every


def period_key(now: datetime, every: timedelta) -> str:
    """The start of the period of length `every` containing `now`, as a UTC string."""
    seconds = int(every.total_seconds())
    start = int(now.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_guarded(
    name: str, now: datetime, every: timedelta, work: Callable[[], object], *, force: bool = False
) -> object | None:
    """Run `work` once for the period of `now`; None (and nothing done) when this period already ran.

    Commits: the run record first (so concurrent runs see it), the work's changes at the end.
    Logs one line per run done ("job <name> ran for period <key>"), with `job` and `period_key` fields.
    """
    every = job_period(name, every)
    key = f"manual:{now.isoformat()}:{secrets.token_hex(4)}" if force else period_key(now, every)
    try:
        run_id = db.session.execute(
            insert(JobRun).values(job=name, period_key=key, started_at=now, status="running").returning(JobRun.id)
        ).scalar_one()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("job %s already ran for period %s", name, key)
        return None
    try:
        result = work()
        db.session.flush()
    except Exception:
        db.session.rollback()
        _finish(run_id, now, "failed", "")
        log.exception("job %s failed for period %s", name, key)
        raise
    summary = _describe(result)
    _finish(run_id, now, "ok", summary)
    log.info("job %s ran for period %s: %s", name, key, summary, extra={"job": name, "period_key": key})
    return result


def _finish(run_id: int, now: datetime, status: str, result: str) -> None:
    db.session.execute(
        update(JobRun).where(JobRun.id == run_id).values(status=status, finished_at=now, result=result[:200])
    )
    db.session.commit()


def _describe(result: object) -> str:
    if isinstance(result, dict):
        return ", ".join(f"{key}={value}" for key, value in result.items())
    return "" if result is None else str(result)


def prune_job_runs(*, now: datetime, keep_days: int = 30) -> int:
    """Delete run records older than `keep_days`; returns how many."""
    cutoff = now - timedelta(days=keep_days)
    return rowcount(db.session.execute(delete(JobRun).where(JobRun.started_at < cutoff))) or 0
