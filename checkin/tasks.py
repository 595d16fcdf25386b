"""Scheduled jobs of the check-in area, run by `flask scheduler run` (app/scheduling/scheduler.py).

Like events/tasks.py: each job is a thin function `job(now, force=False)` that runs its
service once for the period containing `now` (app.scheduling.jobs.run_guarded) and commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.scheduling.jobs import Job, run_guarded
from checkin.scanning import missing

MISSING_CHECKOUTS_EVERY = timedelta(minutes=5)


def mark_missing_checkouts(now: datetime, *, force: bool = False) -> object | None:
    """Mark check-ins left open long after their shift ended as missing a check-out."""
    return run_guarded(
        "missing_checkouts",
        now,
        MISSING_CHECKOUTS_EVERY,
        lambda: {"marked": missing.mark_missing_checkouts(now=now)},
        force=force,
    )


JOBS = (
    Job(
        "missing_checkouts",
        mark_missing_checkouts,
        MISSING_CHECKOUTS_EVERY,
        "mark attendance still open after its shift as missing a check-out",
    ),
)
