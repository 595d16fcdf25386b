"""Service hours: ledger, verification, membership readiness, certificates, reports."""
from flask import Blueprint

bp = Blueprint("hours", __name__, url_prefix="/hours")

from hours import routes  # noqa: E402,F401
from hours import membership_routes  # noqa: E402,F401
from hours import certificate_routes  # noqa: E402,F401
from hours import report_routes  # noqa: E402,F401
