"""Notification centre (/notifications) and the private calendar feed (/calendar/<token>.ics).

These pages live outside the /events prefix, so they have their own blueprint, registered
together with the events blueprint (see the end of events/__init__.py).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import db
from app.permissions import can_read_notification
from app.timeutil import utcnow
from app.web import is_safe_redirect
from events import bp as events_bp
from events import calendar, notifications
from events.notifications import Notification

bp = Blueprint("notifications", __name__)


@events_bp.record_once
def _register(state) -> None:
    state.app.register_blueprint(bp)


@bp.app_context_processor
def inject_unread_count():
    """`unread_notification_count()` for the top bar: one COUNT, only when called for a logged-in user."""

    def unread_notification_count() -> int:
        if not current_user.is_authenticated:
            return 0
        if "_unread_notifications" not in g:
            g._unread_notifications = notifications.unread_count(current_user.id)
        return g._unread_notifications

    return {"unread_notification_count": unread_notification_count}


def _load_own(notification_id: int) -> Notification:
    notification = db.get_or_404(Notification, notification_id)
    if not can_read_notification(current_user, notification):
        abort(404)  # someone else's notification: do not even confirm it exists
    return notification


@bp.get("/notifications")
@login_required
def list_notifications():
    """The user's notifications, newest first, unread ones highlighted."""
    page = notifications.notifications_page(current_user, page=request.args.get("page", 1, type=int))
    items = [notifications.shown(n) for n in page.items]
    g._unread_notifications = notifications.unread_count(current_user.id)  # the top bar reuses it
    return render_template("events/notifications.html", page=page, items=items, unread=g._unread_notifications)


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read_notification(notification_id: int):
    """Mark one notification read; with open=1, continue to where it points."""
    notification = _load_own(notification_id)
    notifications.mark_read(current_user, notification, now=utcnow())
    db.session.commit()
    target = notifications.shown(notification).link
    if request.form.get("open") and target:
        return redirect(target)
    return redirect(url_for("notifications.list_notifications", page=request.form.get("page", 1, type=int)))


@bp.post("/notifications/read-all")
@login_required
def read_all_notifications():
    """Mark every notification of the user read."""
    count = notifications.mark_all_read(current_user, now=utcnow())
    db.session.commit()
    flash(_("Notifications marked as read: %(num)s.", num=count), "success")
    return redirect(url_for("notifications.list_notifications"))


@bp.get("/calendar")
@login_required
def calendar_settings():
    """The volunteer's private calendar link, with a way to reset it."""
    return render_template("events/calendar.html")


@bp.post("/calendar/reset")
@login_required
def reset_calendar_link():
    """Replace the volunteer's calendar token; the old feed URL stops working."""
    calendar.reset_calendar_token(current_user, now=utcnow())
    db.session.commit()
    flash(_("Your calendar link has changed. Subscribe again with the new link."), "success")
    back = request.form.get("next")
    return redirect(back if is_safe_redirect(back) else url_for("notifications.calendar_settings"))


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
