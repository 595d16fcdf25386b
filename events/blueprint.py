"""The blueprint of the event pages (/events/...); each sub-package's routes add their views to it."""

from flask import Blueprint

bp = Blueprint("events", __name__, url_prefix="/events")
