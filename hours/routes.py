"""Service-hour pages."""
from flask import render_template
from flask_login import login_required

from hours import bp


@bp.get("/")
@login_required
def my_hours():
    """The volunteer's own service hours."""
    return render_template("hours/mine.html")
