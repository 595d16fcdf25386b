"""The blueprints of the account pages (no prefix) and of administration (/admin/...)."""

from flask import Blueprint

bp = Blueprint("volunteers", __name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
