"""The blueprint of the notification centre (/notifications, outside any area's prefix)."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)
