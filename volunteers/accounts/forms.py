"""Forms for registration, login, profiles and passwords."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.security import MOBILE_PATTERN, IdNumber, IdNumberError, parse_id_number, password_problem
from app.timeutil import local_today
from volunteers.accounts.models import PoliticalStatus


def password_message(problem: str, min_length: int) -> str:
    """The readable reason for a password_problem() code."""
    if problem == "short":
        return _("Password must be at least %(n)s characters.", n=min_length)
    if problem == "mobile":
        return _("Password must not contain your mobile number.")
    return _("Password is too simple: use at least four different characters.")


ID_MESSAGES = {
    "ID number must be 18 characters": _l("ID number must be 18 characters."),
    "ID number must be 17 digits followed by a digit or X": _l("ID number must be 17 digits followed by a digit or X."),
    "ID number check digit is wrong": _l("ID number check digit is wrong; please check the number."),
    "ID number contains an impossible birth date": _l("ID number contains an impossible birth date."),
}


def _required_for_activists(form, field):
    """Membership activists must give the date; it runs before Optional(), which would stop the chain."""
    if form.political_status.data == PoliticalStatus.ACTIVIST.value and not (field.raw_data and field.raw_data[0]):
        raise StopValidation(_l("Enter the date you became a membership activist."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def validate_mobile_value(value: str) -> None:
    if not MOBILE_PATTERN.match(value or ""):
        raise ValidationError(_l("Mobile number must be 11 digits starting with 1."))


def validate_id_value(value: str):
    try:
        return parse_id_number(value)
    except IdNumberError as exc:
        raise ValidationError(ID_MESSAGES.get(str(exc), str(exc))) from exc


def political_choices():
    return [(s.value, s.value) for s in PoliticalStatus]


class ProfileFieldsMixin:
    """Fields a volunteer keeps up to date."""

    political_status = SelectField(_l("Political status"), choices=political_choices, validators=[DataRequired()])
    activist_since = DateField(_l("Activist since"), validators=[_required_for_activists, Optional()])
    skills = MultiCheckboxField(_l("Skills"), coerce=int)
    languages = MultiCheckboxField(_l("Languages"), coerce=int)
    emergency_contact_name = StringField(_l("Emergency contact"), validators=[DataRequired(), Length(max=50)])
    emergency_contact_mobile = StringField(_l("Emergency contact mobile"), validators=[DataRequired()])
    guardian_name = StringField(_l("Guardian's name"), validators=[Optional(), Length(max=50)])
    guardian_mobile = StringField(_l("Guardian's mobile"), validators=[Optional()])
    guardian_consent = BooleanField(_l("The guardian consents to this registration"))

    def validate_emergency_contact_mobile(self, field):
        validate_mobile_value(field.data)

    def validate_guardian_mobile(self, field):
        if field.data:
            validate_mobile_value(field.data)

    def validate_activist_since(self, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("This date is in the future."))


class RegistrationForm(ProfileFieldsMixin, FlaskForm):
    name = StringField(_l("Real name"), validators=[DataRequired(), Length(min=2, max=50)])
    #: chosen once here; afterwards the affiliation changes only through a move request (volunteers/affiliation/)
    organization_id = SelectField(_l("Affiliation"), coerce=int, validators=[DataRequired()])
    mobile = StringField(_l("Mobile number"), validators=[DataRequired()])
    id_number = StringField(_l("Resident ID number"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    password_confirm = PasswordField(
        _l("Repeat password"), validators=[DataRequired(), EqualTo("password", message=_l("Passwords do not match."))]
    )
    submit = SubmitField(_l("Register"))

    parsed_id: IdNumber | None = None  # set by validate_id_number

    def validate_mobile(self, field):
        field.data = (field.data or "").strip()
        validate_mobile_value(field.data)

    def validate_id_number(self, field):
        self.parsed_id = validate_id_value(field.data)

    def validate_password(self, field):
        min_length = current_app.config["PASSWORD_MIN_LENGTH"]
        problem = password_problem(field.data or "", mobile=(self.mobile.data or "").strip(), min_length=min_length)
        if problem:
            raise ValidationError(password_message(problem, min_length))


class ProfileForm(ProfileFieldsMixin, FlaskForm):
    name = StringField(_l("Real name"), validators=[DataRequired(), Length(min=2, max=50)])
    submit = SubmitField(_l("Save"))


class LoginForm(FlaskForm):
    mobile = StringField(_l("Mobile number"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Log in"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    new_password_confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("Passwords do not match."))],
    )
    submit = SubmitField(_l("Change password"))

    mobile = ""

    def validate_new_password(self, field):
        min_length = current_app.config["PASSWORD_MIN_LENGTH"]
        problem = password_problem(field.data or "", mobile=self.mobile, min_length=min_length)
        if problem:
            raise ValidationError(password_message(problem, min_length))


class RoleGrantForm(FlaskForm):
    """An administrator grants a role: who (mobile or volunteer number), where, which role."""

    person = StringField(_l("Mobile or volunteer number"), validators=[DataRequired(), Length(max=20)])
    organization_id = SelectField(_l("Organization"), coerce=int, validators=[DataRequired()])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    submit = SubmitField(_l("Grant role"))


class RoleFilterForm(FlaskForm):
    """Narrow the list of role grants (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    organization = SelectField(_l("Organization (and below)"), coerce=int, default=0)
    role_name = SelectField(_l("Role"), default="")


class AuditFilterForm(FlaskForm):
    """Narrow the audit trail (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), default="")
    actor_mobile = StringField(_l("Actor's mobile number"), validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_actor_mobile(self, field):
        field.data = (field.data or "").strip()
        if field.data:
            validate_mobile_value(field.data)

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class ConfirmCodeForm(FlaskForm):
    """The six-digit code of a text message."""

    code = StringField(_l("Code from the text message"), validators=[DataRequired(), Length(max=12)])
