"""Forms for river segments and patrol schedules.

Forms check types; the rules live in patrols.segments.services / patrols.segments.schedules, whose `*_problems`
functions the views use to show every problem beside its field at once.
"""

from __future__ import annotations

from datetime import time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.errors import ValidationFailed
from app.timeutil import local_today
from app.web.forms import optional_int
from events.labels import WEEKDAY_LABELS
from events.models import GeofenceMode
from patrols.segments.models import DEFAULT_CHECKIN_DISTANCE_M, PatrolSchedule, RiverSegment
from patrols.segments.schedules import ScheduleData
from patrols.segments.services import SegmentData, parse_points, points_text
from volunteers.accounts.forms import MultiCheckboxField

SEGMENT_GEOFENCE_LABELS = {
    GeofenceMode.REFUSE.value: _l("Refuse it"),
    GeofenceMode.FLAG.value: _l("Accept it, flagged for the coordinator"),
}


class SegmentForm(FlaskForm):
    river_name = StringField(_l("River"), validators=[DataRequired(), Length(max=60)])
    name = StringField(_l("Segment name"), validators=[DataRequired(), Length(max=80)])
    town_id = SelectField(_l("Town or street"), coerce=optional_int, validators=[InputRequired()])
    team_id = SelectField(_l("Adopting volunteer team"), coerce=optional_int, validators=[InputRequired()])
    chief_mobile = StringField(_l("River chief's mobile number"), validators=[Optional(), Length(max=20)])
    points = TextAreaField(_l("Points along the river"), validators=[DataRequired()])
    checkin_distance_m = IntegerField(
        _l("Check-in distance from the river (metres)"),
        default=DEFAULT_CHECKIN_DISTANCE_M,
        validators=[InputRequired()],
    )
    geofence_mode = SelectField(
        _l("Check-in or check-out farther away"),
        choices=[SelectChoice(k, v) for k, v in SEGMENT_GEOFENCE_LABELS.items()],
        default=GeofenceMode.REFUSE.value,
    )
    allow_walk_ins = BooleanField(_l("Volunteers may join a patrol without signing up first"), default=True)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5_000)])
    is_active = BooleanField(_l("Active: patrols are scheduled"), default=True)

    def set_choices(self, towns, teams) -> None:
        """Fill the town and team selects."""
        self.town_id.choices = [SelectChoice("", "—")] + [SelectChoice(o.id, o.display_name) for o in towns]
        self.team_id.choices = [SelectChoice("", "—")] + [SelectChoice(o.id, o.display_name) for o in teams]

    def validate_points(self, field) -> None:
        try:
            parse_points(field.data or "")
        except ValidationFailed as exc:
            raise ValidationError(exc.message) from None

    def fill_from(self, segment: RiverSegment) -> None:
        """Show a stored segment."""
        self.river_name.data, self.name.data = segment.river_name, segment.name
        self.town_id.data, self.team_id.data = segment.town_id, segment.team_id
        self.chief_mobile.data = segment.chief.mobile if segment.chief else ""
        self.points.data = points_text(segment)
        self.checkin_distance_m.data = segment.checkin_distance_m
        self.geofence_mode.data = segment.geofence_mode
        self.allow_walk_ins.data = segment.allow_walk_ins
        self.description.data = segment.description
        self.is_active.data = segment.is_active

    def to_data(self) -> SegmentData:
        """The service's input (call after validation)."""
        return SegmentData(
            river_name=self.river_name.data or "",
            name=self.name.data or "",
            town_id=self.town_id.data,
            team_id=self.team_id.data,
            points=parse_points(self.points.data or ""),
            chief_mobile=self.chief_mobile.data or "",
            checkin_distance_m=self.checkin_distance_m.data,
            geofence_mode=self.geofence_mode.data,
            allow_walk_ins=bool(self.allow_walk_ins.data),
            description=self.description.data or "",
            is_active=bool(self.is_active.data),
        )


class ScheduleForm(FlaskForm):
    weekdays = MultiCheckboxField(
        _l("Weekdays"), coerce=int, choices=[SelectChoice(n, label) for n, label in enumerate(WEEKDAY_LABELS)]
    )
    starts_local = TimeField(_l("Starts (Beijing time)"), validators=[InputRequired()])
    ends_local = TimeField(_l("Ends (Beijing time)"), validators=[InputRequired()])
    headcount = IntegerField(_l("Volunteers per patrol"), default=5, validators=[InputRequired()])
    valid_from = DateField(_l("From"), validators=[InputRequired()])
    valid_until = DateField(_l("Until"), validators=[Optional()])
    meeting_point = StringField(_l("Meeting point"), validators=[Optional(), Length(max=200)])
    is_active = BooleanField(_l("Active"), default=True)

    def fill_defaults(self) -> None:
        """A new schedule starts today, Saturdays 09:00-11:00 until changed."""
        self.valid_from.data = local_today()
        self.weekdays.data = [5]
        self.starts_local.data, self.ends_local.data = time(9), time(11)

    def fill_from(self, schedule: PatrolSchedule) -> None:
        """Show a stored schedule."""
        self.weekdays.data = schedule.weekday_numbers
        self.starts_local.data, self.ends_local.data = schedule.starts_local, schedule.ends_local
        self.headcount.data = schedule.headcount
        self.valid_from.data, self.valid_until.data = schedule.valid_from, schedule.valid_until
        self.meeting_point.data = schedule.meeting_point
        self.is_active.data = schedule.is_active

    def to_data(self) -> ScheduleData:
        """The service's input (call after validation)."""
        return ScheduleData(
            weekdays=sorted(set(self.weekdays.data or [])),
            starts_local=self.starts_local.data,
            ends_local=self.ends_local.data,
            headcount=self.headcount.data,
            valid_from=self.valid_from.data,
            valid_until=self.valid_until.data,
            meeting_point=self.meeting_point.data or "",
            is_active=bool(self.is_active.data),
        )
