"""The check-in area as the application composes it (app/areas.py)."""

from flask import Flask

from app import permissions
from app.areas import Area
from checkin import metrics, models, tasks
from checkin.blueprint import bp, links
from checkin.coordinator import routes as coordinator_routes
from checkin.kiosk import routes as kiosk_routes

permissions.provide("attendance_event", models.attendance_event)

#: every module whose views use the blueprints, imported so that they are registered
ROUTES = (kiosk_routes, coordinator_routes)


def _setup(app: Flask) -> None:
    metrics.install_scan_counters()


AREA = Area(
    name="checkin",
    blueprints=(bp, links),
    jobs=tasks.JOBS,
    models=(models,),
    setup=_setup,
)
