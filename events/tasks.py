"""Scheduled jobs of the events area, run by `flask scheduler run` (app/scheduling/scheduler.py).

Each job is a thin function `job(now, force=False)`: it runs its services once for the
period containing `now` (app.scheduling.jobs.run_guarded) and commits. The scheduler calls it inside
an application context; tests and `flask scheduler run-once <job>` call it directly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.extensions import db
from app.scheduling.jobs import Job, prune_job_runs, run_guarded
from events import reminders
from events.training import credentials
from notifications import email

REMINDERS_EVERY = timedelta(minutes=5)
EMAIL_EVERY = timedelta(minutes=1)
CREDENTIALS_EVERY = timedelta(hours=1)
HOUSEKEEPING_EVERY = timedelta(days=1)


def send_reminders(now: datetime, *, force: bool = False) -> object | None:
    """Remind assigned volunteers 24 hours and 2 hours before their shifts."""
    return run_guarded("reminders", now, REMINDERS_EVERY, lambda: reminders.send_shift_reminders(now=now), force=force)


def send_email_outbox(now: datetime, *, force: bool = False) -> object | None:
    """Email notifications not emailed yet (logged instead when SMTP is not configured)."""

    def work() -> dict:
        outgoing = email.claim_outbox(now=now)
        db.session.commit()  # the claim is visible before anything is sent: no second pass sends it again
        failed = email.send_emails(outgoing, now=now)
        email.release(failed)
        return {"sent": len(outgoing) - len(failed), "failed": len(failed)}

    return run_guarded("email_outbox", now, EMAIL_EVERY, work, force=force)


def keep_credentials(now: datetime, *, force: bool = False) -> object | None:
    """Grant credentials of completed courses not granted yet, and send expiry notices."""

    def work() -> dict:
        granted = credentials.grant_missing_credentials(now=now)
        return {"granted": granted, **credentials.send_expiry_notices(now=now)}

    return run_guarded("credentials", now, CREDENTIALS_EVERY, work, force=force)


def housekeeping(now: datetime, *, force: bool = False) -> object | None:
    """Delete job run records older than 30 days."""
    return run_guarded(
        "housekeeping", now, HOUSEKEEPING_EVERY, lambda: {"job_runs_deleted": prune_job_runs(now=now)}, force=force
    )


JOBS = (
    Job("reminders", send_reminders, REMINDERS_EVERY, "shift reminders 24 h and 2 h before"),
    Job("email_outbox", send_email_outbox, EMAIL_EVERY, "email copies of notifications"),
    Job("credentials", keep_credentials, CREDENTIALS_EVERY, "grant course credentials, expiry notices"),
    Job("housekeeping", housekeeping, HOUSEKEEPING_EVERY, "prune old job run records"),
)
