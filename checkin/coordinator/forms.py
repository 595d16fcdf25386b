"""Forms of the coordinator's check-in pages: manual check-in, a check-out time, a conflict's resolution.

Times are local (Asia/Shanghai) wall-clock values; the views turn them into aware UTC. Rules
(reason required, time order, permissions) live in the services; forms only check shape.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from app.timeutil import LOCAL_TZ

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
REASON_MAX = 500


def local_to_utc(value: datetime) -> datetime:
    """A naive local wall-clock time from a form, as aware UTC."""
    return value.replace(tzinfo=LOCAL_TZ).astimezone(UTC)


class ManualCheckForm(FlaskForm):
    """Check a volunteer in (or out) by mobile number when the phone cannot show a badge."""

    mobile = StringField(
        _l("Volunteer's mobile number"),
        validators=[DataRequired(message=_l("Enter the volunteer's mobile number.")), Length(max=20)],
    )
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(message=_l("Give a reason for checking in by hand.")), Length(max=REASON_MAX)],
    )


class CheckOutTimeForm(FlaskForm):
    """Set the real check-out time of a forgotten check-out."""

    checked_out_at = DateTimeLocalField(
        _l("Real check-out time"),
        format=DATETIME_FORMAT,
        validators=[InputRequired(message=_l("Enter the time the volunteer actually left."))],
    )
    reason = StringField(
        _l("Reason"), validators=[DataRequired(message=_l("Give a reason for the correction.")), Length(max=REASON_MAX)]
    )


class ResolveConflictForm(FlaskForm):
    """Settle a conflicting offline scan: keep the attendance as recorded, or take the scan's time."""

    keep = RadioField(
        _l("Keep"),
        choices=[
            SelectChoice("attendance", _l("The attendance as recorded")),
            SelectChoice("scan", _l("The time of this scan")),
        ],
        default="attendance",
        validators=[DataRequired(message=_l("Choose what to keep."))],
    )
    reason = StringField(
        _l("Reason"), validators=[DataRequired(message=_l("Give a reason for the correction.")), Length(max=REASON_MAX)]
    )
