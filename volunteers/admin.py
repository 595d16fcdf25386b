"""Administration: organizations, role grants, volunteer import (blueprint `admin`)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from volunteers import admin_routes  # noqa: E402,F401
from volunteers import import_routes  # noqa: E402,F401
