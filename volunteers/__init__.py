"""Volunteers: organizations and roles, accounts, registration, profiles, import."""
from flask import Blueprint

bp = Blueprint("volunteers", __name__)

from volunteers import routes  # noqa: E402,F401
from volunteers import activation_routes  # noqa: E402,F401
