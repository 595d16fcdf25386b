"""Scheduled jobs of the SMS area, run by `flask scheduler run` (app/scheduling/scheduler.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.scheduling.jobs import Job, run_guarded
from sms import codes

PRUNE_EVERY = timedelta(days=1)


def prune_sms(now: datetime, *, force: bool = False) -> object | None:
    """Delete old verification codes, send locks and message records."""
    return run_guarded("sms_prune", now, PRUNE_EVERY, lambda: codes.prune(now=now), force=force)


JOBS = (Job("sms_prune", prune_sms, PRUNE_EVERY, "delete old SMS codes, locks and message records"),)
