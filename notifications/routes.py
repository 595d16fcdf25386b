"""The notification centre (/notifications): the list, marking read, the unread count in the top bar."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import db
from app.permissions import can_read_notification
from app.timeutil import utcnow
from app.web.forms import run_action
from app.web.inputs import query_int
from app.web.loading import load_or_404
from notifications import services as notifications
from notifications.blueprint import bp
from notifications.models import Notification


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


@bp.get("/notifications")
@login_required
def list_notifications():
    """The user's notifications, newest first, unread ones highlighted."""
    page = notifications.notifications_page(current_user, page=request.args.get("page", 1, type=query_int))
    items = [notifications.shown(n) for n in page.items]
    g._unread_notifications = notifications.unread_count(current_user.id)  # the top bar reuses it
    return render_template("events/notifications.html", page=page, items=items, unread=g._unread_notifications)


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read_notification(notification_id: int):
    """Mark one notification read; with open=1, continue to where it points."""
    # someone else's notification: 404, do not even confirm it exists
    notification = load_or_404(Notification, notification_id, can_read_notification)
    notifications.mark_read(current_user, notification, now=utcnow())
    db.session.commit()
    target = notifications.shown(notification).link
    if request.form.get("open") and target:
        return redirect(target)
    return redirect(url_for("notifications.list_notifications", page=request.form.get("page", 1, type=query_int)))


@bp.post("/notifications/read-all")
@login_required
def read_all_notifications():
    """Mark every notification of the user read."""
    run_action(
        lambda: notifications.mark_all_read(current_user, now=utcnow()),
        success=lambda count: _("Notifications marked as read: %(num)s.", num=count),
        catch=(),
    )
    return redirect(url_for("notifications.list_notifications"))
