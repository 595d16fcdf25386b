"""`flask demo ...`: load the demo data."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db
from demo.data import load_demo_data

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
@click.option("--force", is_flag=True, help="Load even if the database already has organizations.")
def load_demo(force: bool) -> None:
    """Load the demo organization tree, accounts and skills (once)."""
    created = load_demo_data(force=force)
    db.session.commit()
    click.echo("demo data loaded" if created else "demo data already present; nothing changed")
