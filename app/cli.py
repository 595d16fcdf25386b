"""The kernel's command-line groups (`flask scheduler ...`, `flask backup ...`); areas add their own (app/areas.py)."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    """Add the kernel's groups to `flask`."""
    from app.ops.backup import backup_cli
    from app.scheduling.scheduler import scheduler_cli

    app.cli.add_command(scheduler_cli)
    app.cli.add_command(backup_cli)
