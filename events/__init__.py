"""Events, positions, shifts, assignments, sign-up rules, staffing, training, notifications."""
from flask import Blueprint

bp = Blueprint("events", __name__, url_prefix="/events")

from events import routes  # noqa: E402,F401
from events import staffing_routes  # noqa: E402,F401
from events import notification_routes  # noqa: E402,F401
