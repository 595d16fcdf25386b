"""Scheduled jobs of the hours area, run by `flask scheduler run` (app/scheduling/scheduler.py).

The ledger only reads attendance: this job turns closed attendance into ledger entries (and
reconciles attendance changed since), so hours appear even when no coordinator opens the review.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.scheduling.jobs import Job, run_guarded
from hours.ledger.recording import collect_closed_attendances

COLLECT_EVERY = timedelta(minutes=10)


def collect_hours(now: datetime, *, force: bool = False) -> object | None:
    """Record closed attendance not yet in the ledger."""
    return run_guarded(
        "hours_collect", now, COLLECT_EVERY, lambda: {"entries": collect_closed_attendances(now=now)}, force=force
    )


JOBS = (Job("hours_collect", collect_hours, COLLECT_EVERY, "record closed attendance in the hours ledger"),)
