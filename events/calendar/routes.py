"""The volunteer's private calendar feed (/calendar/<token>.ics) and its settings page (/calendar).

Outside the /events prefix (subscribed feed URLs must not change), so in a blueprint of its own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.timeutil import utcnow
from app.web.forms import run_action
from app.web.pages import is_safe_redirect
from events.calendar import feed as calendar

bp = Blueprint("calendar", __name__)


@bp.get("/calendar")
@login_required
def calendar_settings():
    """The volunteer's private calendar link, with a way to reset it."""
    return render_template("events/calendar.html")


@bp.post("/calendar/reset")
@login_required
def reset_calendar_link():
    """Replace the volunteer's calendar token; the old feed URL stops working."""
    run_action(
        lambda: calendar.reset_calendar_token(current_user, now=utcnow()),
        success=_("Your calendar link has changed. Subscribe again with the new link."),
        catch=(),
    )
    back = request.form.get("next")
    return redirect(back if is_safe_redirect(back) else url_for("calendar.calendar_settings"))


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The private .ics feed of a volunteer's shifts (no login: the token is the secret)."""
    user = calendar.user_for_token(token)
    if user is None:
        abort(404)
    domain = urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "").hostname or request.host.split(":")[0]
    body = calendar.calendar_feed(user, now=utcnow(), uid_domain=domain)
    response = current_app.response_class(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="shifts.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
