"""Changing the mobile number (blueprint `volunteers`, login required): /me/mobile asks for the new number and the
current password and sends a code to the new number; /me/mobile/confirm takes the code. The number waiting for its
code is kept in the session between the steps, never taken from the form (volunteers/accounts/mobile.py)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from app.errors import ValidationFailed
from app.extensions import client_address, limiter
from app.timeutil import utcnow
from app.web.forms import form_page, submit_form
from app.web.pages import acting_user
from sms.errors import CodeRefused, SmsFailed
from sms.numbers import mask_mobile
from volunteers.accounts import mobile as services
from volunteers.accounts.mobile_forms import MobileCodeForm, NewMobileForm
from volunteers.blueprint import bp

#: {"user_id": ..., "mobile": the new number a code was sent to}
PENDING = "pending_mobile"


def _account_limit() -> str:
    return current_app.config["MOBILE_CHANGE_LIMIT_PER_ACCOUNT"]


def _account_key() -> str:
    return f"mobile-change:{current_user.get_id() if current_user.is_authenticated else client_address()}"


def _pending() -> str | None:
    """The new number waiting for its code, if this user asked for one in this session."""
    pending = session.get(PENDING)
    if isinstance(pending, dict) and pending.get("user_id") == current_user.id and pending.get("mobile"):
        return str(pending["mobile"])
    return None


def _page(form: NewMobileForm, code_form: MobileCodeForm, status: int):
    pending = _pending()
    return render_template(
        "volunteers/change_mobile.html",
        form=form,
        code_form=code_form,
        pending_masked=mask_mobile(pending) if pending else None,
    ), status


@bp.route("/me/mobile", methods=["GET", "POST"])
@login_required
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"], scope="mobile-change")
def change_mobile():
    """Step 1 of the change of mobile number: the new number and the current password; a code goes to the new
    number."""
    form = NewMobileForm()
    code_form = MobileCodeForm(formdata=None)
    user = acting_user()

    def to_step_two(pending: services.PendingChange):
        session[PENDING] = {"user_id": pending.user_id, "mobile": pending.mobile}
        return redirect(url_for("volunteers.change_mobile"))

    return form_page(
        form,
        lambda: services.request_mobile_change(
            user, form.mobile.data, form.current_password.data, ip_address=client_address(), now=utcnow()
        ),
        success=lambda pending: _(
            "A code is on its way to %(mobile)s. Enter it below to make it your mobile number.",
            mobile=pending.sent.mobile_masked,
        ),
        then=to_step_two,
        catch=ValidationFailed,
        commit_refusals=(SmsFailed,),  # the failed send's record
        render=lambda status: _page(form, code_form, status),
    )


@bp.post("/me/mobile/confirm")
@login_required
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"], scope="mobile-confirm")
def confirm_mobile_change():
    """Step 2: the code the new number received; the mobile changes, the old number is told, other sessions end."""
    new_mobile = _pending()
    if new_mobile is None:
        flash(_("Ask for a code to the new number first."), "error")
        return redirect(url_for("volunteers.change_mobile"))
    form = NewMobileForm(formdata=None)
    code_form = MobileCodeForm()
    user = acting_user()

    def changed(_user):
        session.pop(PENDING, None)
        # This session carries the new token; others are gone. Pass the real object, not the proxy.
        login_user(acting_user())
        return redirect(url_for("volunteers.profile"))

    sent = submit_form(
        code_form,
        lambda: services.confirm_mobile_change(user, new_mobile, code_form.code.data, now=utcnow()),
        success=_(
            "Your mobile number is now %(mobile)s: log in with it from now on. Other devices have been logged out.",
            mobile=mask_mobile(new_mobile),
        ),
        then=changed,
        catch=ValidationFailed,
        commit_refusals=(CodeRefused,),  # a wrong try counts, or a guesser would have unlimited tries
    )
    if sent.saved:
        return sent.response
    return _page(form, code_form, sent.status)
