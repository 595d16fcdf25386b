"""Event pages."""
from flask import render_template

from events import bp


@bp.get("/")
def list_events():
    """Published events."""
    return render_template("events/list.html")
