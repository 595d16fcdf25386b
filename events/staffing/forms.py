"""Forms of the staffing board, volunteer search, assignment actions and team quotas."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from app.web.forms import optional_int
from events.signup.rules import OVERRIDABLE_RULES

#: short names of the rules a coordinator may override (events.signup.rules.OVERRIDABLE_RULES)
OVERRIDE_LABELS = {
    "signup_not_open": _l("Sign-up is not open"),
    "shift_started": _l("The shift has started"),
    "overlap": _l("Overlapping shift"),
    "missing_skill": _l("Missing skill"),
    "missing_credential": _l("Missing training"),
    "under_age": _l("Under the minimum age"),
    "too_many_no_shows": _l("Too many no-shows"),
}

#: readable assignment statuses (events.models.AssignmentStatus)
STATUS_LABELS = {
    "applied": _l("Applied"),
    "assigned": _l("Assigned"),
    "waitlisted": _l("Waitlisted"),
    "cancelled": _l("Cancelled"),
    "no_show": _l("No-show"),
    "completed": _l("Completed"),
}


def override_choices() -> list[tuple[str, str]]:
    return [(code, str(OVERRIDE_LABELS.get(code, code))) for code in sorted(OVERRIDABLE_RULES)]


class GetForm(FlaskForm):
    """A filter form read from the query string (no CSRF token: it changes nothing)."""

    class Meta:
        csrf = False


class BoardFilterForm(GetForm):
    day = SelectField(_l("Day"), choices=[], validators=[Optional()], validate_choice=True)
    position = SelectField(_l("Position"), coerce=optional_int, choices=[], validators=[Optional()])
    understaffed = BooleanField(_l("Under-staffed only"))

    def fill(self, board_days: list[date], positions: list[tuple[int, str]]) -> None:
        """Choices from the event: its days and positions."""
        self.day.choices = [("", _l("All days"))] + [(d.isoformat(), d.isoformat()) for d in board_days]
        self.position.choices = [(None, _l("All positions")), *list(positions)]

    @property
    def day_value(self) -> date | None:
        return date.fromisoformat(self.day.data) if self.day.data else None


class VolunteerSearchForm(GetForm):
    q = StringField(_l("Name, mobile or volunteer number"), validators=[Optional(), Length(max=50)])
    skill = SelectField(_l("Skill"), coerce=optional_int, choices=[], validators=[Optional()])
    organization = SelectField(_l("Team or organization"), coerce=optional_int, choices=[], validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])

    def fill(self, skills: list[tuple[int, str]], organizations: list[tuple[int, str]]) -> None:
        self.skill.choices = [(None, _l("Any skill")), *list(skills)]
        self.organization.choices = [(None, _l("Any organization")), *list(organizations)]

    @property
    def searched(self) -> bool:
        return bool(self.q.data or self.skill.data or self.organization.data)


class OverrideMixin:
    override_rules = SelectMultipleField(_l("Override these rules"), choices=[], validate_choice=True)
    override_reason = TextAreaField(_l("Reason for the override"), validators=[Optional(), Length(max=500)])

    def validate_override_reason(self, field) -> None:
        if self.override_rules.data and not (field.data or "").strip():
            raise ValidationError(_l("Give a reason for overriding the sign-up rules."))


class AssignForm(OverrideMixin, FlaskForm):
    volunteer_ids = SelectMultipleField(
        _l("Volunteers"),
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(_l("Select at least one volunteer."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.override_rules.choices = override_choices()


class MoveForm(OverrideMixin, FlaskForm):
    to_shift_id = SelectField(
        _l("Move to shift"), coerce=int, choices=[], validators=[InputRequired(_l("Choose a shift."))]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.override_rules.choices = override_choices()

    def fill(self, groups: list[tuple[str, list[tuple[int, str]]]]) -> None:
        self.to_shift_id.choices = dict(groups)


class UnassignForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=500)])


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token."""


class QuotaForm(FlaskForm):
    position_id = SelectField(
        _l("Position"), coerce=int, choices=[], validators=[InputRequired(_l("Choose a position."))]
    )
    organization_id = SelectField(
        _l("Team or organization"), coerce=int, choices=[], validators=[InputRequired(_l("Choose an organization."))]
    )
    quantity = IntegerField(
        _l("Volunteers per shift"),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(min=1, max=10_000, message=_l("Enter 1 to 10000.")),
        ],
    )


class FillQuotaForm(FlaskForm):
    volunteer_ids = SelectMultipleField(
        _l("Team members"),
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(_l("Select at least one volunteer."))],
    )
