"""Account pages: home, registration, login, logout, profile, password."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
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
from sms.codes import send_code, verify_code
from sms.errors import CodeRefused
from sms.numbers import mask_mobile
from sms.purposes import SmsPurpose
from volunteers.accounts import services
from volunteers.accounts.forms import ChangePasswordForm, ConfirmCodeForm, LoginForm, ProfileForm, RegistrationForm
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
    """Self-registration of a volunteer; with REGISTRATION_CONFIRMS_MOBILE the account opens once the SMS code sent
    to its mobile number is entered (/register/confirm)."""
    if current_user.is_authenticated:
        return redirect(url_for("volunteers.profile"))
    form = RegistrationForm()
    _fill_choices(form)
    confirm = current_app.config["REGISTRATION_CONFIRMS_MOBILE"]

    def welcome(user):
        if confirm:
            session[PENDING_REGISTRATION] = user.id
            _send_registration_code(user)
            return redirect(url_for("volunteers.confirm_registration"))
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
            confirm_mobile=confirm,
        )

    return form_page(
        form,
        create,
        success=lambda user: (
            _(
                "Your registration is saved (volunteer number %(number)s). Enter the code we text to your mobile number "
                "to open the account.",
                number=user.volunteer_number,
            )
            if confirm
            else _("Welcome! Your volunteer number is %(number)s.", number=user.volunteer_number)
        ),
        then=welcome,
        catch=ValidationFailed,
        show=lambda exc: show_refusal(form, exc, loose="flash"),
        template="volunteers/register.html",
    )


#: the session key of the registration waiting for its SMS code in this browser
PENDING_REGISTRATION = "pending_registration"


def _send_registration_code(user: User) -> bool:
    """Text the registration code; a refusal (too soon, daily limit, the provider down) is flashed, the registration
    stays saved either way (a failed send's record is committed too)."""
    try:
        sent = send_code(user.mobile, SmsPurpose.REGISTER, ip_address=client_address(), now=utcnow())
    except ValidationFailed as exc:
        db.session.commit()
        flash(exc.message, "error")
        return False
    db.session.commit()
    flash(_("A code is on its way to %(mobile)s; it is valid for 5 minutes.", mobile=sent.mobile_masked), "info")
    return True


def _pending_registration() -> User | None:
    user = services.awaiting_code(session.get(PENDING_REGISTRATION))
    if user is None:
        session.pop(PENDING_REGISTRATION, None)
    return user


@bp.route("/register/confirm", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def confirm_registration():
    """Enter the SMS code that proves the mobile number; the account opens and the volunteer is logged in."""
    user = _pending_registration()
    if user is None:
        flash(_("No registration waits for a code in this browser. Register, or log in."), "info")
        return redirect(url_for("volunteers.login"))
    form = ConfirmCodeForm()

    def confirm() -> User:
        verify_code(user.mobile, SmsPurpose.REGISTER, form.code.data, now=utcnow())
        return services.confirm_registration(user, now=utcnow(), ip_address=client_address())

    def opened(account: User):
        session.pop(PENDING_REGISTRATION, None)
        login_user(account)
        return redirect(url_for("volunteers.profile"))

    return form_page(
        form,
        confirm,
        success=_("Welcome! Your volunteer number is %(number)s.", number=user.volunteer_number),
        then=opened,
        catch=ValidationFailed,
        commit_refusals=(CodeRefused,),
        show=lambda exc: show_refusal(form, exc, field="code"),
        template="volunteers/confirm_registration.html",
        mobile=mask_mobile(user.mobile),
    )


@bp.post("/register/confirm/resend")
@limiter.limit("30 per hour")
def resend_registration_code():
    """Text another registration code (no sooner than a minute after the last)."""
    user = _pending_registration()
    if user is None:
        return redirect(url_for("volunteers.login"))
    _send_registration_code(user)
    return redirect(url_for("volunteers.confirm_registration"))


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
        unconfirmed = services.unconfirmed_login(form.mobile.data, form.password.data)
        if unconfirmed is not None:
            # the right password of a registration whose code was never entered: finish it in this browser
            session[PENDING_REGISTRATION] = unconfirmed.id
            flash(_("Confirm your mobile number with the code we text you to open the account."), "info")
            return redirect(url_for("volunteers.confirm_registration"))
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
