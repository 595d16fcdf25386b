"""The API as the application composes it (app/areas.py)."""

from flask.blueprints import BlueprintSetupState

from api import auth, express, models
from api.blueprint import bp
from api.cli import api_cli
from api.routes import assignments, events, meta, scans, shifts
from app.areas import Area

#: every module whose views use the blueprint, imported so that they are registered
ROUTES = (assignments, events, meta, shifts, scans)


@bp.record_once
def _express_lane_first(state: BlueprintSetupState) -> None:
    """A plain live check-in is answered by api/express.py's hook, which runs before the app's CSRF and
    Flask-Limiter hooks (and after the request id's, which app.ops.observability puts first): it counts the
    endpoint's limits itself, and what it leaves to the normal path meets those hooks as if it had not run."""
    state.app.before_request_funcs.setdefault(None, []).insert(0, express.express_scan)


bp.before_request(auth.authenticate)

AREA = Area(name="api", blueprints=(bp,), cli=(api_cli,), models=(models,))
