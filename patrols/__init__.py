"""River patrol (河小青): river segments, recurring patrol duty, patrol reports and the committee view."""
from flask import Blueprint

bp = Blueprint("patrols", __name__, url_prefix="/patrols")

from patrols import geofence  # noqa: E402,F401  (registers the patrol check-in fence with checkin/)
from patrols import routes  # noqa: E402,F401
from patrols import report_routes  # noqa: E402,F401
