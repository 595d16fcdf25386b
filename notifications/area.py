"""The notifications area as the application composes it (app/areas.py)."""

from app.areas import Area
from notifications import models, routes
from notifications.blueprint import bp

#: every module whose views use the blueprint, imported so that they are registered
ROUTES = (routes,)

AREA = Area(name="notifications", blueprints=(bp,), models=(models,))
