"""Forms of certificates (issue, revoke, the public check) and of hours reports."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class IssueCertificateForm(FlaskForm):
    """The period a certificate covers."""

    period_start = DateField(_l("From"), validators=[DataRequired()])
    period_end = DateField(_l("To"), validators=[DataRequired()])

    def fill_defaults(self, today: date) -> None:
        """This year so far, when the form is first shown."""
        if self.period_start.data is None and not self.period_start.raw_data:
            self.period_start.data = date(today.year, 1, 1)
        if self.period_end.data is None and not self.period_end.raw_data:
            self.period_end.data = today


class RevokeCertificateForm(FlaskForm):
    """Why a certificate no longer stands."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class CheckCertificateForm(FlaskForm):
    """The public check: serial number and the holder's name."""

    serial = StringField(_l("Serial number"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name of the holder"), validators=[DataRequired(), Length(max=50)])


class ReportForm(FlaskForm):
    """Which subtree and period a report covers (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    organization = SelectField(_l("Organization"), coerce=int, validators=[DataRequired()])
    basis = SelectField(
        _l("Count hours of"),
        default="organizer",
        choices=[
            SelectChoice("organizer", _l("Events organized in this organization and below")),
            SelectChoice("affiliation", _l("Volunteers affiliated with this organization and below")),
        ],
    )
    period_start = DateField(_l("From"), validators=[Optional()])
    period_end = DateField(_l("To"), validators=[Optional()])
