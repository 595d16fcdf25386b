"""The API as the application composes it (app/areas.py)."""

from api import auth, models
from api.blueprint import bp
from api.cli import api_cli
from api.routes import assignments, events, meta, scans, shifts
from app.areas import Area

#: every module whose views use the blueprint, imported so that they are registered
ROUTES = (assignments, events, meta, shifts, scans)


bp.before_request(auth.authenticate)

AREA = Area(name="api", blueprints=(bp,), cli=(api_cli,), models=(models,))
