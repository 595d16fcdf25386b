"""The JSON API under /api/v1: events, positions, shifts and assignments, with its OpenAPI document.

Views are thin: load → ask app.permissions → call the same services as the pages → commit.
"""
from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer requests need no CSRF token; api.auth checks it itself for session requests.
csrf.exempt(bp)

from api import auth, express  # noqa: E402


@bp.record_once
def _express_lane_first(state) -> None:
    """A plain live check-in is answered by api/express.py's hook, which runs before the app's CSRF and
    Flask-Limiter hooks (and after the request id's, which app.observability puts first): it counts the
    endpoint's limits itself, and what it leaves to the normal path meets those hooks as if it had not run."""
    state.app.before_request_funcs.setdefault(None, []).insert(0, express.express_scan)


bp.before_request(auth.authenticate)

from api.routes import assignments, events, meta, shifts  # noqa: E402,F401
from api.routes import scans  # noqa: E402,F401  (check-in: badge scanner and kiosk)
