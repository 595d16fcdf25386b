"""The forms of the password reset by SMS: the mobile number (step 1), then the code and a new password (step 2)."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.security import password_problem
from sms.numbers import normalize_mobile
from volunteers.accounts.forms import password_message


class ForgotPasswordForm(FlaskForm):
    """Step 1: the mobile number of the account (any spelling sms.numbers accepts; the service checks it)."""

    mobile = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=30)])
    submit = SubmitField(_l("Send me a code"))


class SmsResetForm(FlaskForm):
    """Step 2: the mobile number, the code it received and a new password, twice."""

    mobile = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=30)])
    code = StringField(_l("Verification code"), validators=[DataRequired(), Length(max=20)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    new_password_confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("Passwords do not match."))],
    )
    submit = SubmitField(_l("Set the new password"))

    def validate_new_password(self, field: PasswordField) -> None:
        min_length = current_app.config["PASSWORD_MIN_LENGTH"]
        mobile = normalize_mobile(self.mobile.data or "") or ""  # the account's mobile, whoever it is
        problem = password_problem(field.data or "", mobile=mobile, min_length=min_length)
        if problem:
            raise ValidationError(password_message(problem, min_length))
