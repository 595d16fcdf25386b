"""The blueprint of the JSON API (/api/v1/...)."""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer requests need no CSRF token; api.auth checks it itself for session requests.
csrf.exempt(bp)
