"""The notifications area as the application composes it (app/areas.py)."""

from app.areas import Area
from notifications import affiliation, models, routes
from notifications.blueprint import bp

#: every module whose views use the blueprint, imported so that they are registered
ROUTES = (routes,)
#: listens to the volunteers area's affiliation decisions
LISTENERS = (affiliation,)

AREA = Area(name="notifications", blueprints=(bp,), models=(models,))
