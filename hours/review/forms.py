"""Forms of the hours pages; the rules themselves live in the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional

from hours.ledger.models import EntryKind, EntryStatus, RoundingRule

STATUS_LABELS = {
    EntryStatus.RECORDED.value: _l("Recorded"),
    EntryStatus.SUBMITTED.value: _l("Submitted"),
    EntryStatus.VERIFIED.value: _l("Verified"),
    EntryStatus.REJECTED.value: _l("Rejected"),
    EntryStatus.WITHDRAWN.value: _l("Withdrawn"),
}
KIND_LABELS = {
    EntryKind.SCAN.value: _l("Scan hours"),
    EntryKind.BACKFILL.value: _l("Back-filled hours"),
}
FLAG_LABELS = {
    "conflict": _l("Conflict between devices"),
    "offline": _l("Scanned offline"),
    "outside_radius": _l("Outside the radius"),
}
ROUNDING_LABELS = {
    RoundingRule.NONE.value: _l("No rounding"),
    RoundingRule.DOWN_15.value: _l("Down to 15 minutes"),
    RoundingRule.NEAREST_30.value: _l("To the nearest 30 minutes"),
}


class DisputeForm(FlaskForm):
    """A volunteer's objection to an entry."""

    message = TextAreaField(
        _l("What is wrong with these hours?"),
        validators=[DataRequired(message=_l("Say what is wrong with these hours.")), Length(max=2000)],
    )


class DisputeAnswerForm(FlaskForm):
    """A reviewer's answer, optionally with the corrected total."""

    answer = TextAreaField(
        _l("Answer to the volunteer"),
        validators=[DataRequired(message=_l("Write an answer for the volunteer.")), Length(max=2000)],
    )
    corrected_minutes = IntegerField(
        _l("Corrected total in minutes (leave empty to keep the hours)"),
        validators=[Optional(), NumberRange(min=0, max=100000)],
    )


class SubmitForm(FlaskForm):
    """The coordinator submits all unflagged recorded entries of an event, or the chosen ones."""

    scope = StringField(validators=[AnyOf(["all", "selected"])])
    entry_ids = SelectMultipleField(_l("Entries"), coerce=int, validate_choice=False)


class DecisionForm(FlaskForm):
    """A reviewer verifies or rejects chosen entries; a rejection needs a reason."""

    decision = StringField(validators=[AnyOf(["verify", "reject"])])
    entry_ids = SelectMultipleField(_l("Entries"), coerce=int, validate_choice=False)
    reason = TextAreaField(_l("Reason (required to reject)"), validators=[Optional(), Length(max=1000)])


class CorrectionForm(FlaskForm):
    """A correction of a line to a new total, or its reversal."""

    decision = StringField(validators=[AnyOf(["correct", "reverse"])])
    minutes = IntegerField(_l("Corrected total in minutes"), validators=[Optional(), NumberRange(min=0, max=100000)])
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(message=_l("Give a reason for the correction.")), Length(max=1000)]
    )


class BackfillForm(FlaskForm):
    """Hours served on paper, entered by a coordinator with evidence."""

    volunteer = StringField(
        _l("Volunteer's mobile or volunteer number"),
        validators=[DataRequired(message=_l("Enter the volunteer's mobile or volunteer number.")), Length(max=20)],
    )
    shift_id = SelectField(_l("Shift (optional)"), coerce=int, validate_choice=False)
    service_date = DateField(_l("Date served"), validators=[DataRequired(message=_l("Enter a valid date."))])
    hours = IntegerField(_l("Hours"), validators=[Optional(), NumberRange(min=0, max=1000)])
    minutes = IntegerField(_l("Minutes"), validators=[Optional(), NumberRange(min=0, max=59)])
    reason = TextAreaField(
        _l("What the paper record is, and why the hours were not scanned"),
        validators=[
            DataRequired(message=_l("Say what the paper record is and why the hours were not scanned.")),
            Length(max=1000),
        ],
    )
    evidence = FileField(_l("Evidence (PDF, JPEG or PNG)"))

    def total_minutes(self) -> int | None:
        total = (self.hours.data or 0) * 60 + (self.minutes.data or 0)
        return total or None


class RoundingForm(FlaskForm):
    """An administrator's rounding rule for an organization and its subtree."""

    organization_id = SelectField(_l("Organization"), coerce=int, validate_choice=True)
    rule = SelectField(
        _l("Rounding"), choices=[SelectChoice(k, label) for k, label in ROUNDING_LABELS.items()], validate_choice=True
    )


class AuditFilterForm(FlaskForm):
    """Filters of the hours audit trail (a GET form)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), validate_choice=False)
    actor_mobile = StringField(_l("By (mobile)"), validators=[Optional(), Length(max=11)])
    entry_id = IntegerField(_l("Entry number"), validators=[Optional(), NumberRange(min=1)])
    event_id = IntegerField(_l("Event number"), validators=[Optional(), NumberRange(min=1)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
