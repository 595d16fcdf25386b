"""Scheduled jobs of the river-patrol area, run by `flask scheduler run` (app/scheduling/scheduler.py).

`generate_patrols(now)` creates the patrol shifts of the next four weeks (patrols.segments.schedules); it is
guarded once per hour (app.scheduling.jobs.run_guarded) and the work itself is idempotent, so a forced or
concurrent run creates nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.scheduling.jobs import Job, run_guarded
from patrols.segments.schedules import generate_patrol_shifts

GENERATE_EVERY = timedelta(hours=1)


def generate_patrols(now: datetime, *, force: bool = False) -> object | None:
    """Create the missing patrol shifts of every active schedule for the next four weeks."""
    return run_guarded(
        "patrol_shifts", now, GENERATE_EVERY, lambda: {"created": generate_patrol_shifts(now=now)}, force=force
    )


JOBS = (Job("patrol_shifts", generate_patrols, GENERATE_EVERY, "patrol shifts for the next four weeks"),)
