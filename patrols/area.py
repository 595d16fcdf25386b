"""The river-patrol area as the application composes it (app/areas.py)."""

from app import permissions
from app.areas import Area
from patrols import tasks
from patrols.blueprint import bp
from patrols.reports import models as report_models
from patrols.reports import routes as report_routes
from patrols.segments import geofence, holdings, models, routes
from patrols.segments.browse import leads_patrol_event, on_patrol
from volunteers.organizations.services import register_holding

permissions.provide("leads_patrol", leads_patrol_event)
permissions.provide("on_patrol", on_patrol)
register_holding(holdings.HOLDING)

#: every module whose views use the blueprint, imported so that they are registered; the geofence module
#: registers the patrol check-in fence with checkin/ when imported
ROUTES = (routes, report_routes, geofence)

AREA = Area(
    name="patrols",
    blueprints=(bp,),
    jobs=tasks.JOBS,
    models=(models, report_models),
)
