"""`flask hours ...`: rebuild and check the derived tables, collect attendance by hand."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

hours_cli = AppGroup("hours", help="Service-hours ledger.")


@hours_cli.command("rebuild-summary")
@click.option("--full", is_flag=True, help="Empty the derived tables and insert every row again.")
def rebuild_summary_command(full: bool) -> None:
    """Rebuild entry states and per-volunteer-year summaries from the append-only ledger."""
    from app.extensions import db
    from app.timeutil import utcnow
    from hours.ledger import summary

    counts = summary.rebuild(now=utcnow(), full=full)
    db.session.commit()
    click.echo(
        f"{counts['states']} entry states and {counts['summaries']} volunteer-year summaries agree with "
        f"the ledger ({counts['states_written']} state rows and {counts['summaries_written']} summary rows "
        f"written)"
    )


@hours_cli.command("check-summary")
@click.option("--limit", default=200, show_default=True, help="Show at most this many differences.")
def check_summary_command(limit: int) -> None:
    """Compare entry states and summaries with the ledger; print differences and exit 1 if any."""
    from hours.ledger import summary

    found = summary.differences(limit=limit)
    for line in found:
        click.echo(line)
    if found:
        click.echo(f"{len(found)} difference(s) found; run `flask hours rebuild-summary` to repair", err=True)
        sys.exit(1)
    click.echo("summaries agree with the ledger")


@hours_cli.command("collect")
def collect_command() -> None:
    """Record every closed attendance not yet in the ledger (what the scheduled job does)."""
    from app.extensions import db
    from app.timeutil import utcnow
    from hours.ledger.recording import collect_closed_attendances

    made = collect_closed_attendances(now=utcnow())
    db.session.commit()
    click.echo(f"{made} entries recorded")
