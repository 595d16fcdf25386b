"""Password reset by SMS (blueprint `volunteers`, no login): /forgot asks for the mobile number and sends a code,
/forgot/reset takes the code and a new password. Whether the number has an account is never told
(volunteers/recovery/sms_reset.py)."""

from __future__ import annotations

import math
from datetime import datetime

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, logout_user

from app.errors import Conflict, ValidationFailed
from app.extensions import client_address, limiter
from app.timeutil import utcnow
from app.web.forms import form_page, submit_form
from sms.codes import CodeSent
from sms.errors import CodeRefused, SmsFailed
from sms.numbers import normalize_mobile
from volunteers.blueprint import bp
from volunteers.recovery import sms_reset
from volunteers.recovery.sms_forms import ForgotPasswordForm, SmsResetForm

#: the number typed at step 1, kept in the session to fill in step 2 (a convenience: step 2 proves it with the code)
FORGOT_MOBILE = "forgot_mobile"


def _address_limit() -> str:
    return current_app.config["SMS_RESET_LIMIT_PER_ADDRESS"]


def _seconds(later: datetime, now: datetime) -> int:
    return max(0, math.ceil((later - now).total_seconds()))


def code_on_its_way(sent: CodeSent, now: datetime) -> str:
    """What step 1 answers for every number, registered or not: to whom (masked), how long, when to ask again."""
    minutes = max(1, _seconds(sent.expires_at, now) // 60)
    seconds = _seconds(sent.resend_at, now)
    return " ".join(
        (
            _("If an account has the number %(mobile)s, a code is on its way to it.", mobile=sent.mobile_masked),
            ngettext("The code is valid for %(num)d minute.", "The code is valid for %(num)d minutes.", minutes),
            ngettext(
                "You can ask for another in %(num)d second.", "You can ask for another in %(num)d seconds.", seconds
            ),
        )
    )


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], scope="forgot-code")
def forgot_password():
    """Step 1 of the reset by SMS: the mobile number; a code goes to it only if a usable account has it, and the
    answer is the same either way."""
    if current_user.is_authenticated:
        return redirect(url_for("volunteers.profile"))
    form = ForgotPasswordForm()
    if request.method == "GET" and not form.mobile.data:
        form.mobile.data = session.get(FORGOT_MOBILE, "")
    now = utcnow()

    def to_step_two(_sent: CodeSent):
        session[FORGOT_MOBILE] = normalize_mobile(form.mobile.data or "") or ""
        return redirect(url_for("volunteers.reset_password_by_sms"))

    return form_page(
        form,
        lambda: sms_reset.request_reset_code(form.mobile.data, ip_address=client_address(), now=now),
        success=lambda sent: code_on_its_way(sent, now),
        then=to_step_two,
        catch=ValidationFailed,
        commit_refusals=(SmsFailed,),  # the failed send's record
        template="volunteers/forgot_password.html",
    )


@bp.route("/forgot/reset", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], scope="forgot-reset")
def reset_password_by_sms():
    """Step 2 of the reset by SMS: the mobile number, its code and a new password; every session and API token of
    the account ends."""
    if current_user.is_authenticated:
        return redirect(url_for("volunteers.profile"))
    form = SmsResetForm()
    if request.method == "GET" and not form.mobile.data:
        form.mobile.data = session.get(FORGOT_MOBILE, "")
    sent = submit_form(
        form,
        lambda: sms_reset.reset_with_code(form.mobile.data, form.code.data, form.new_password.data, now=utcnow()),
        success=_("Your password has been changed. Log in with your mobile number and the new password."),
        then=lambda _user: redirect(url_for("volunteers.login")),
        catch=(ValidationFailed, Conflict),
        commit_refusals=(CodeRefused,),  # a wrong try counts, or a guesser would have unlimited tries
    )
    if sent.saved:
        session.pop(FORGOT_MOBILE, None)
        logout_user()
        return sent.response
    return render_template("volunteers/forgot_reset.html", form=form), sent.status
