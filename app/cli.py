"""Command-line groups registered by the factory (`flask demo load`, ...)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
@click.option("--force", is_flag=True, help="Load even if the database already has organizations.")
def load_demo(force: bool) -> None:
    """Load the demo organization tree, accounts and skills (once)."""
    from app.demo import load_demo_data
    from app.extensions import db

    created = load_demo_data(force=force)
    db.session.commit()
    click.echo("demo data loaded" if created else "demo data already present; nothing changed")


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    from api.cli import api_cli
    app.cli.add_command(api_cli)
    from app.scheduler import scheduler_cli
    app.cli.add_command(scheduler_cli)
    from hours.cli import hours_cli
    app.cli.add_command(hours_cli)
    from app.backup import backup_cli
    app.cli.add_command(backup_cli)
