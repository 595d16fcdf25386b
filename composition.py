"""The one module that composes the application: the product areas, in the order they register.

`create_app()` here is what `flask` (FLASK_APP=composition:create_app), gunicorn (wsgi.py), the tests and the
benchmarks call. The kernel (app/) knows no product area; each area declares its blueprints, CLI groups, jobs
and models once, in its `area.py`.
"""

from __future__ import annotations

from flask import Flask

import app as kernel
from api.area import AREA as API
from app.areas import Area
from checkin.area import AREA as CHECKIN
from demo.cli import demo_cli
from events.area import AREA as EVENTS
from hours.area import AREA as HOURS
from notifications.area import AREA as NOTIFICATIONS
from patrols.area import AREA as PATROLS
from sms.area import AREA as SMS
from volunteers.area import AREA as VOLUNTEERS

DEMO = Area(name="demo", cli=(demo_cli,))

#: lower areas first: each may use the services of those before it, never of those after it
AREAS: tuple[Area, ...] = (SMS, VOLUNTEERS, NOTIFICATIONS, EVENTS, CHECKIN, HOURS, PATROLS, API, DEMO)


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """The whole application: the kernel's factory with every product area."""
    return kernel.create_app(config_name, overrides, areas=AREAS)
