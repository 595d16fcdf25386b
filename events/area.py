"""The events area as the application composes it (app/areas.py)."""

from app import permissions
from app.areas import Area
from events import holdings, models, tasks
from events.blueprint import bp
from events.calendar import routes as calendar_routes
from events.manage import routes as manage_routes
from events.signup import routes as signup_routes
from events.staffing import quotas
from events.staffing.routes import board as staffing_routes
from events.staffing.routes import quotas as quota_routes
from volunteers.organizations.services import register_holding

permissions.provide("team_has_quota", quotas.team_has_quota)
for _holding in holdings.HOLDINGS:
    register_holding(_holding)

#: every module whose views use the blueprint, imported so that they are registered
ROUTES = (signup_routes, manage_routes, staffing_routes, quota_routes)

AREA = Area(
    name="events",
    blueprints=(bp, calendar_routes.bp),
    jobs=tasks.JOBS,
    models=(models,),
)
