"""Account pages: home, registration, login, logout, profile, password."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup

from app.errors import ValidationFailed
from app.extensions import client_address, db, limiter
from app.permissions import (
    can_disable_account,
    can_edit_volunteer,
    can_issue_reset_link,
    can_reveal_id_number,
    can_view_volunteer,
)
from app.timeutil import utcnow
from app.web.forms import form_page, show_refusal
from app.web.loading import load_or_404
from app.web.pages import acting_user, is_safe_redirect
from volunteers.accounts import services
from volunteers.accounts.forms import ChangePasswordForm, LoginForm, ProfileForm, RegistrationForm
from volunteers.accounts.models import User
from volunteers.blueprint import bp


def _fill_choices(form) -> None:
    if "organization_id" in form:  # registration only: afterwards the affiliation changes by a move request
        form.organization_id.choices = services.organization_choices()
    form.skills.choices = services.skill_choices("skill")
    form.languages.choices = services.skill_choices("language")


def _profile_data(form) -> services.ProfileData:
    return services.ProfileData(
        name=form.name.data,
        political_status=form.political_status.data,
        activist_since=form.activist_since.data,
        organization_id=form.organization_id.data if "organization_id" in form else None,
        emergency_contact_name=form.emergency_contact_name.data,
        emergency_contact_mobile=form.emergency_contact_mobile.data,
        skill_ids=list(form.skills.data or []) + list(form.languages.data or []),
        guardian_name=form.guardian_name.data or "",
        guardian_mobile=form.guardian_mobile.data or "",
        guardian_consent=bool(form.guardian_consent.data),
    )


@bp.get("/")
def home():
    """Landing page: what the volunteer can do next."""
    return render_template("volunteers/home.html")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    """Self-registration of a volunteer."""
    if current_user.is_authenticated:
        return redirect(url_for("volunteers.profile"))
    form = RegistrationForm()
    _fill_choices(form)

    def welcome(user):
        login_user(user)
        return redirect(url_for("volunteers.profile"))

    def create() -> User:
        assert form.parsed_id is not None  # form_page creates the account only once the form validated
        return services.register_volunteer(
            mobile=form.mobile.data,
            id_number=form.parsed_id,
            password=form.password.data,
            profile=_profile_data(form),
            now=utcnow(),
            ip_address=client_address(),
        )

    return form_page(
        form,
        create,
        success=lambda user: _("Welcome! Your volunteer number is %(number)s.", number=user.volunteer_number),
        then=welcome,
        catch=ValidationFailed,
        show=lambda exc: show_refusal(form, exc, loose="flash"),
        template="volunteers/register.html",
    )


def _login_account_key() -> str:
    return "login-account:" + (request.form.get("mobile") or "").strip()[:20]


def _login_failed(response) -> bool:
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_login_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-account",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-address",
)
def login():
    """Log in with mobile number and password."""
    if current_user.is_authenticated:
        return redirect(url_for("volunteers.profile"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.mobile.data, form.password.data)
        if user is not None:
            login_user(user)
            target = request.args.get("next")
            return redirect(target if is_safe_redirect(target) else url_for("volunteers.profile"))
        form.password.errors = [_("Wrong mobile number or password.")]
        if services.is_disabled_login(form.mobile.data, form.password.data):
            form.password.errors = [_("This account has been disabled. Ask your organization's administrator.")]
        pending = services.find_by_mobile(form.mobile.data or "")
        if pending is not None and pending.password_hash is None:
            form.mobile.errors = [
                Markup('{} <a href="{}">{}</a>').format(
                    _("This account was imported and is not activated yet."),
                    url_for("volunteers.activate"),
                    _("Activate it now"),
                )
            ]
    status = 200 if request.method == "GET" else 401
    return render_template("volunteers/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Log out; every session of this user ends, including copied cookies."""
    services.end_all_sessions(current_user)
    db.session.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("volunteers.login"))


@bp.get("/me")
@login_required
def profile():
    """The logged-in volunteer's own profile."""
    return _render_profile(current_user)


@bp.get("/volunteers/<int:user_id>")
@login_required
def show_volunteer(user_id: int):
    """A volunteer's profile, for the volunteer and for staff above their organization."""
    return _render_profile(load_or_404(User, user_id, can_view_volunteer, denied=403))


def _render_profile(volunteer: User):
    return render_template(
        "volunteers/profile.html",
        volunteer=volunteer,
        own=volunteer.id == current_user.id,
        id_number=services.reveal_id_number(volunteer, by=current_user, now=utcnow())
        if volunteer.id == current_user.id
        else None,
        can_edit=can_edit_volunteer(current_user, volunteer),
        can_reveal=can_reveal_id_number(current_user, volunteer) and volunteer.id != current_user.id,
        **_account_actions(volunteer),
    )


def _account_actions(volunteer: User) -> dict:
    """What staff may do to the account on its profile: disable or enable it, issue a reset link."""
    other = volunteer.id != current_user.id
    return {
        "can_disable": other and can_disable_account(current_user, volunteer),
        "can_issue_reset_link": other and can_issue_reset_link(current_user, volunteer),
    }


@bp.post("/volunteers/<int:user_id>/id-number")
@login_required
def reveal_id_number(user_id: int):
    """Show an administrator the whole ID number once; the look is recorded."""
    volunteer = load_or_404(User, user_id, can_reveal_id_number, denied=403)
    id_number = services.reveal_id_number(volunteer, by=current_user, now=utcnow(), ip_address=client_address())
    db.session.commit()
    return render_template(
        "volunteers/profile.html",
        volunteer=volunteer,
        own=False,
        id_number=id_number,
        can_edit=can_edit_volunteer(current_user, volunteer),
        can_reveal=False,
        **_account_actions(volunteer),
    )


@bp.route("/volunteers/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def edit_profile(user_id: int):
    """Edit a profile (the volunteer, or an administrator above their organization)."""
    volunteer = load_or_404(User, user_id, can_edit_volunteer, denied=403)
    form = ProfileForm(obj=volunteer if request.method == "GET" else None)
    _fill_choices(form)
    if request.method == "GET":
        form.skills.data = [s.id for s in volunteer.skills if s.kind == "skill"]
        form.languages.data = [s.id for s in volunteer.skills if s.kind == "language"]
        form.guardian_consent.data = volunteer.guardian_consent_at is not None

    def saved(_profile):
        if volunteer.id == current_user.id:
            return redirect(url_for("volunteers.profile"))
        return redirect(url_for("volunteers.show_volunteer", user_id=volunteer.id))

    return form_page(
        form,
        lambda: services.update_profile(volunteer, _profile_data(form), by=current_user, now=utcnow()),
        success=_("Profile saved."),
        then=saved,
        catch=ValidationFailed,
        show=lambda exc: show_refusal(form, exc, loose="flash"),
        template="volunteers/edit_profile.html",
        volunteer=volunteer,
    )


@bp.route("/me/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session of this user ends."""
    form = ChangePasswordForm()
    form.mobile = current_user.mobile

    def changed(_user):
        # This session carries the new token; others are gone. Pass the real object, not the proxy.
        login_user(acting_user())
        return redirect(url_for("volunteers.profile"))

    return form_page(
        form,
        lambda: services.change_password(
            current_user,
            current_password=form.current_password.data,
            new_password=form.new_password.data,
            now=utcnow(),
        ),
        success=_("Password changed. Other devices have been logged out."),
        then=changed,
        catch=ValidationFailed,
        show=lambda exc: show_refusal(form, exc, loose="flash"),
        template="volunteers/change_password.html",
    )
