"""The blueprints of the check-in pages: /checkin/... and the kiosk's short arrival link /k/<token>."""

from flask import Blueprint

bp = Blueprint("checkin", __name__, url_prefix="/checkin")
#: the short link a volunteer's camera opens from the kiosk's QR code
links = Blueprint("checkin_links", __name__)
