"""The form of a password reset link: a new password, twice."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from app.security import password_problem
from volunteers.accounts.forms import password_message


class ResetPasswordForm(FlaskForm):
    """Choose a new password with the rules of registration and of changing a password."""

    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    new_password_confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("Passwords do not match."))],
    )
    submit = SubmitField(_l("Set the new password"))

    #: the account's mobile (a password must not contain it); set by the view, never shown
    mobile = ""

    def validate_new_password(self, field: PasswordField) -> None:
        min_length = current_app.config["PASSWORD_MIN_LENGTH"]
        problem = password_problem(field.data or "", mobile=self.mobile, min_length=min_length)
        if problem:
            raise ValidationError(password_message(problem, min_length))
