"""The JSON API under /api/v1: events, positions, shifts and assignments, with its OpenAPI document.

Views are thin: load → ask app.permissions → call the same services as the pages → commit.
"""
from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer requests need no CSRF token; api.auth checks it itself for session requests.
csrf.exempt(bp)

from api import auth, express  # noqa: E402

bp.before_request(express.express_scan)  # first: a plain live check-in is answered there (api/express.py)
bp.before_request(auth.authenticate)

from api.routes import assignments, events, meta, shifts  # noqa: E402,F401
from api.routes import scans  # noqa: E402,F401  (check-in: badge scanner and kiosk)
