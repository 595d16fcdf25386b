"""The blueprint of the hours pages (/hours/...); each sub-package's routes add their views to it."""

from flask import Blueprint

bp = Blueprint("hours", __name__, url_prefix="/hours")
