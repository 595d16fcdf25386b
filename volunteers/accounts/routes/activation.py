"""The activation page for imported volunteers (blueprint `volunteers`)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import ValidationFailed
from app.extensions import client_address, db, limiter
from app.timeutil import utcnow
from volunteers.accounts.activation import ActivationForm, activate_account
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
    refusal = None
    if form.validate_on_submit():
        try:
            activate_account(
                mobile=form.mobile.data,
                id_number=form.parsed_id.value,
                password=form.password.data,
                now=utcnow(),
                ip_address=client_address(),
            )
        except ValidationFailed as exc:
            db.session.rollback()
            refusal = exc.message
        else:
            db.session.commit()
            flash(_("Your account is active. Log in with your mobile number and your new password."), "success")
            return redirect(url_for("volunteers.login"))
    status = 200 if request.method == "GET" else 422
    return render_template("volunteers/activate.html", form=form, refusal=refusal), status
