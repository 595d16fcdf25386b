"""The blueprint of the river-patrol pages (/patrols/...)."""

from flask import Blueprint

bp = Blueprint("patrols", __name__, url_prefix="/patrols")
