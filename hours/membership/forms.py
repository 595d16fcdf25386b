"""Forms of the membership prerequisite pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from hours.membership.decisions import NOTE_MAX

STATUS_LABELS = {
    "ready": _l("Meets all conditions"),
    "missing_months": _l("Missing months as an activist"),
    "missing_theory": _l("Missing theory class hours"),
    "missing_service": _l("Missing service hours"),
    "missing_evaluation": _l("Missing ideology evaluation"),
    "approved": _l("Approved by a committee"),
}


class ApplicantFilterForm(FlaskForm):
    """Narrow the applicant list (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Show"), default="", validators=[Optional()])
    organization = SelectField(_l("Organization"), coerce=int, default=0, validators=[Optional()])


class EvaluationForm(FlaskForm):
    """Record the result of an applicant's ideology evaluation (思政考评)."""

    result = RadioField(
        _l("Ideology evaluation result"),
        choices=[SelectChoice("passed", _l("Passed")), SelectChoice("failed", _l("Not passed"))],
        validators=[InputRequired()],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=NOTE_MAX)])


class VerificationForm(FlaskForm):
    """Record the committee's decision on an applicant's eligibility."""

    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("approved", _l("Approve: all conditions are met")),
            SelectChoice("rejected", _l("Do not approve")),
        ],
        validators=[InputRequired()],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=NOTE_MAX)])


class ApprovedExportForm(FlaskForm):
    """Choose from which day newly approved members are exported (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    since = DateField(_l("Approved on or after"), validators=[DataRequired()])
