"""Reset links: staff issue one on a volunteer's profile; the person opens it without logging in (blueprint
`volunteers`)."""

from __future__ import annotations

from flask import current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required, logout_user

from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.permissions import can_issue_reset_link
from app.timeutil import utcnow
from app.web.forms import run_action, submit_form
from app.web.loading import load_or_404
from app.web.pages import acting_user
from volunteers.accounts.models import User
from volunteers.blueprint import bp
from volunteers.recovery import services
from volunteers.recovery.forms import ResetPasswordForm


def _link_url(secret: str) -> str:
    """The absolute link to hand over: PUBLIC_BASE_URL when configured, else this request's host."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if base:
        return base + url_for("volunteers.reset_password", token=secret)
    return url_for("volunteers.reset_password", token=secret, _external=True)


@bp.post("/volunteers/<int:user_id>/reset-link")
@login_required
def issue_reset_link(user_id: int):
    """Issue a one-time password reset link for a volunteer and show it this once."""
    person = load_or_404(User, user_id, can_issue_reset_link, denied=403)
    done = run_action(
        lambda: services.issue_reset_link(person, by=acting_user(), now=utcnow()),
        success=None,
        catch=(Conflict, PermissionDenied),
    )
    if done.refusal is not None or done.result is None:
        return redirect(url_for("volunteers.show_volunteer", user_id=person.id))
    link, secret = done.result
    return render_template("volunteers/reset_link_issued.html", person=person, link=link, url=_link_url(secret))


def _gone_page(exc: NotFound | services.LinkGone):
    return render_template("volunteers/reset_link_gone.html", message=exc.message, status=exc.status), exc.status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password with a reset link; every session and API token of the account ends."""
    now = utcnow()
    try:
        link = services.find_link(token, now=now)
    except (NotFound, services.LinkGone) as exc:
        return _gone_page(exc)
    form = ResetPasswordForm()
    form.mobile = link.user.mobile
    sent = submit_form(
        form,
        lambda: services.reset_with_link(token, form.new_password.data, now=now),
        success=_("Your password has been changed. Log in with your mobile number and the new password."),
        then=lambda _user: redirect(url_for("volunteers.login")),
        catch=(ValidationFailed, Conflict, services.LinkGone),
        show=None,
    )
    if sent.saved:
        logout_user()  # whoever was logged in on this browser: the link was for another account's owner
        return sent.response
    if isinstance(sent.refusal, services.LinkGone | Conflict):
        return _gone_page(services.link_gone())
    if sent.refusal is not None:
        form.new_password.errors = [*form.new_password.errors, sent.refusal.message]
    return render_template("volunteers/reset_password.html", form=form), sent.status
