"""The forms of the change of mobile number: the new number with the current password, then the code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from sms.numbers import normalize_mobile


class NewMobileForm(FlaskForm):
    """Step 1: the new number (any spelling sms.numbers accepts) and the current password."""

    mobile = StringField(_l("New mobile number"), validators=[DataRequired(), Length(max=30)])
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    submit = SubmitField(_l("Send a code to the new number"))

    def validate_mobile(self, field: StringField) -> None:
        if normalize_mobile(field.data or "") is None:
            raise ValidationError(_l("Enter an 11-digit mainland mobile number."))


class MobileCodeForm(FlaskForm):
    """Step 2: the code the new number received."""

    code = StringField(_l("Verification code"), validators=[DataRequired(), Length(max=20)])
    submit = SubmitField(_l("Change my mobile number"))
