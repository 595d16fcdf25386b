"""Activation of imported accounts: the volunteer confirms mobile and ID number and chooses a password."""

from __future__ import annotations

import hmac
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from app import audit
from app.errors import ValidationFailed
from app.security import IdNumber, hash_id_number, hash_password, password_problem
from volunteers.accounts.forms import password_message, validate_id_value, validate_mobile_value
from volunteers.accounts.models import User
from volunteers.accounts.services import end_all_sessions, find_by_mobile


class ActivationForm(FlaskForm):
    """Mobile and ID number as given to the organization, and a new password."""

    mobile = StringField(_l("Mobile number"), validators=[DataRequired()])
    id_number = StringField(_l("Resident ID number"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    password_confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("Passwords do not match."))],
    )
    submit = SubmitField(_l("Activate account"))

    parsed_id: IdNumber | None = None  # set by validate_id_number

    def validate_mobile(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        validate_mobile_value(field.data)

    def validate_id_number(self, field: StringField) -> None:
        self.parsed_id = validate_id_value(field.data)

    def validate_password(self, field: PasswordField) -> None:
        min_length = current_app.config["PASSWORD_MIN_LENGTH"]
        problem = password_problem(field.data or "", mobile=(self.mobile.data or "").strip(), min_length=min_length)
        if problem:
            raise ValidationError(password_message(problem, min_length))


def activate_account(*, mobile: str, id_number: str, password: str, now: datetime, ip_address: str = "") -> User:
    """Give an imported, not yet activated account its password; refuse any other combination alike."""
    user = find_by_mobile(mobile)
    given_hash = hash_id_number(id_number)
    matches = (
        user is not None
        and hmac.compare_digest(user.id_number_hash, given_hash)
        and user.password_hash is None
        and not user.is_disabled
    )
    if not matches:
        # One message for every case: which part was wrong is not told.
        raise ValidationFailed(
            _(
                "These details do not match an account waiting for activation. Check them, or ask the "
                "organization that registered you."
            ),
            code="activation_refused",
        )
    assert user is not None  # `matches` holds only for a found user
    user.password_hash = hash_password(password)
    user.activated_at = now
    user.updated_at = now
    end_all_sessions(user)
    audit.record(
        "account.activate",
        actor=user,
        now=now,
        target=user,
        organization_id=user.organization_id,
        ip_address=ip_address,
    )
    return user
