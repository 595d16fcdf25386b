"""Forms of patrol reports, findings, their follow-up and the committee view.

Forms check types and formats; the rules (position near the segment, photo checks, workflow)
live in patrols.reports.services, whose refusals the views show beside the field they name.
"""

from __future__ import annotations

import math
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from patrols.reports.models import CATEGORY_LABELS
from patrols.reports.services import MAX_DESCRIPTION, MAX_FORWARDED_TO, MAX_NOTE, MAX_SUMMARY, FindingData

PHOTO_ACCEPT = "image/jpeg,image/png,image/webp"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_coordinate(text: str | None) -> float | None:
    """A coordinate typed by a person ("23.0207", "23,0207" with a comma decimal), or None when blank."""
    text = (text or "").strip().replace("，", ",")
    if not text:
        return None
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    value = float(text)  # ValueError for anything else
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_month(text: str | None) -> tuple[int, int] | None:
    """(year, month) from "YYYY-MM", or None."""
    match = _MONTH.match((text or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return (year, month) if 2000 <= year <= 2100 and 1 <= month <= 12 else None


def _category_choices(blank: str):
    return [SelectChoice("", blank)] + [SelectChoice(k, v) for k, v in CATEGORY_LABELS.items()]


class FindingFieldsMixin:
    """Fields shared by the report form (its first finding) and the finding form."""

    # declared by each form that mixes this in
    category: SelectField
    description: TextAreaField
    latitude: StringField
    longitude: StringField

    def validate_latitude(self, field) -> None:
        try:
            value = parse_coordinate(field.data)
        except ValueError:
            raise ValidationError(_("Write the latitude as a number, e.g. 23.0207.")) from None
        if value is not None and not -90 <= value <= 90:
            raise ValidationError(_("The latitude must be between -90 and 90."))

    def validate_longitude(self, field) -> None:
        try:
            value = parse_coordinate(field.data)
        except ValueError:
            raise ValidationError(_("Write the longitude as a number, e.g. 113.7518.")) from None
        if value is not None and not -180 <= value <= 180:
            raise ValidationError(_("The longitude must be between -180 and 180."))

    def finding_data(self) -> FindingData:
        """The finding as the service takes it (call after validation)."""
        return FindingData(
            category=self.category.data or "",
            description=self.description.data or "",
            latitude=parse_coordinate(self.latitude.data),
            longitude=parse_coordinate(self.longitude.data),
        )

    def has_finding(self) -> bool:
        """True when any field of the finding was filled in."""
        return bool(
            self.category.data
            or (self.description.data or "").strip()
            or (self.latitude.data or "").strip()
            or (self.longitude.data or "").strip()
        )


class ReportForm(FindingFieldsMixin, FlaskForm):
    """File a patrol's report: a summary and/or its first finding."""

    summary = TextAreaField(_l("What the patrol saw"), validators=[Optional(), Length(max=MAX_SUMMARY)])
    category = SelectField(_l("Finding"), choices=_category_choices(_l("Nothing to report")), default="")
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=MAX_DESCRIPTION)])
    latitude = StringField(_l("Latitude"), validators=[Optional(), Length(max=20)])
    longitude = StringField(_l("Longitude"), validators=[Optional(), Length(max=20)])
    photos = MultipleFileField(_l("Photos"))


class FindingForm(FindingFieldsMixin, FlaskForm):
    """Add a finding to a report, or change one."""

    category = SelectField(
        _l("What was found"), choices=_category_choices("—"), validators=[DataRequired(_l("Choose what was found."))]
    )
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(_l("Describe what was found and where.")), Length(max=MAX_DESCRIPTION)],
    )
    latitude = StringField(_l("Latitude"), validators=[Optional(), Length(max=20)])
    longitude = StringField(_l("Longitude"), validators=[Optional(), Length(max=20)])
    photos = MultipleFileField(_l("Photos"))

    def fill_from(self, finding) -> None:
        """Show a stored finding."""
        self.category.data, self.description.data = finding.category, finding.description
        self.latitude.data = "" if finding.latitude is None else f"{finding.latitude:.6f}"
        self.longitude.data = "" if finding.longitude is None else f"{finding.longitude:.6f}"


class SummaryForm(FlaskForm):
    """Change a report's summary."""

    summary = TextAreaField(_l("What the patrol saw"), validators=[Optional(), Length(max=MAX_SUMMARY)])


class ForwardForm(FlaskForm):
    """Forward a finding to whoever deals with it."""

    forwarded_to = StringField(
        _l("Forwarded to"),
        validators=[DataRequired(_l("Say to whom the finding was forwarded.")), Length(max=MAX_FORWARDED_TO)],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE)])


class ResolveForm(FlaskForm):
    """Mark a finding resolved."""

    note = TextAreaField(
        _l("How it was resolved"),
        validators=[DataRequired(_l("Say how the finding was resolved.")), Length(max=MAX_NOTE)],
    )


class CommitteeForm(FlaskForm):
    """The committee view's subtree and months (read from the query string)."""

    class Meta:
        csrf = False

    organization = SelectField(_l("Organization"), coerce=int, validators=[DataRequired()])
    month_from = StringField(_l("From month"), validators=[DataRequired()])
    month_to = StringField(_l("To month"), validators=[DataRequired()])

    def validate_month_from(self, field) -> None:
        if parse_month(field.data) is None:
            raise ValidationError(_("Write the month as YYYY-MM, e.g. 2026-03."))

    def validate_month_to(self, field) -> None:
        if parse_month(field.data) is None:
            raise ValidationError(_("Write the month as YYYY-MM, e.g. 2026-03."))
