"""The activation page for imported volunteers (blueprint `volunteers`)."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import ValidationFailed
from app.extensions import client_address, limiter
from app.timeutil import utcnow
from app.web.forms import submit_form
from volunteers.accounts.activation import ActivationForm, activate_account
from volunteers.accounts.models import User
from volunteers.blueprint import bp


def _activation_account_key() -> str:
    return "activate-account:" + (request.form.get("mobile") or "").strip()[:20]


def _activation_failed(response) -> bool:
    return response.status_code != 302


@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["ACTIVATION_LIMIT_PER_ACCOUNT"],
    key_func=_activation_account_key,
    methods=["POST"],
    deduct_when=_activation_failed,
    scope="activate-account",
)
@limiter.limit(
    lambda: current_app.config["ACTIVATION_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_activation_failed,
    scope="activate-address",
)
def activate():
    """An imported volunteer confirms mobile and ID number and chooses a password."""
    if current_user.is_authenticated:
        return redirect(url_for("volunteers.profile"))
    form = ActivationForm()

    def activate_it() -> User:
        assert form.parsed_id is not None  # submit_form activates only once the form validated
        return activate_account(
            mobile=form.mobile.data,
            id_number=form.parsed_id.value,
            password=form.password.data,
            now=utcnow(),
            ip_address=client_address(),
        )

    sent = submit_form(
        form,
        activate_it,
        success=_("Your account is active. Log in with your mobile number and your new password."),
        then=lambda _user: redirect(url_for("volunteers.login")),
        catch=ValidationFailed,
        show=None,  # the page shows the refusal itself (`refusal`), not beside a field
    )
    if sent.saved:
        return sent.response
    refusal = sent.refusal.message if sent.refusal is not None else None
    return render_template("volunteers/activate.html", form=form, refusal=refusal), sent.status
