"""Check-in and check-out: rotating tokens, kiosk, badge scanner, attendance, offline sync, live dashboard."""
from flask import Blueprint

bp = Blueprint("checkin", __name__, url_prefix="/checkin")

from checkin import routes  # noqa: E402,F401
