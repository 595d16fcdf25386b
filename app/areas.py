"""What a product area adds to the application, declared once in the area's `area.py`.

The kernel (app/) imports no product area. The composition module (composition.py) hands
the factory the list of areas; the factory registers each area's blueprints, CLI groups and
scheduled jobs, and calls its setup hook. The areas' model modules are imported by their
`area.py`, so the metadata (and Alembic) sees every table once the app is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask

    from app.scheduling.jobs import Job


@dataclass(frozen=True)
class Area:
    """One product area: its name, what it registers, and the model modules it owns."""

    name: str
    blueprints: Sequence[Blueprint] = ()
    cli: Sequence[click.Command] = ()
    jobs: Sequence[Job] = ()
    models: Sequence[ModuleType] = ()
    setup: Callable[[Flask], None] | None = field(default=None)


def register_areas(app: Flask, areas: Sequence[Area]) -> None:
    """Register every area's blueprints, CLI groups and jobs; then run their setup hooks, in order."""
    jobs: dict[str, Job] = {}
    for area in areas:
        for blueprint in area.blueprints:
            app.register_blueprint(blueprint)
        for command in area.cli:
            app.cli.add_command(command)
        for job in area.jobs:
            if job.name in jobs:
                raise ValueError(f"two areas define the scheduled job {job.name!r}")
            jobs[job.name] = job
    app.extensions["areas"] = tuple(areas)
    app.extensions["jobs"] = jobs
    for area in areas:
        if area.setup is not None:
            area.setup(app)
