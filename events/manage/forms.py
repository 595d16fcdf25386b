"""Forms for coordinators (events, positions, shifts, bulk shifts).

Times in forms are local (Asia/Shanghai) wall-clock times; `local_to_utc` turns them into
the aware UTC values services take. Rules live in the services; forms check types and
collect every problem of an event at once through `events.manage.services.event_problems`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.timeutil import LOCAL_TZ, to_local
from app.web.forms import optional_int, show_problems
from events.labels import GEOFENCE_LABELS, KIND_LABELS, WEEKDAY_LABELS
from events.manage import services as manage
from events.manage.bulk import BulkPattern, parse_time_slots
from events.manage.shifts import MAX_HEADCOUNT, ShiftData
from events.models import GeofenceMode
from volunteers.accounts.forms import MultiCheckboxField

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


@overload
def local_to_utc(value: datetime) -> datetime: ...
@overload
def local_to_utc(value: None) -> None: ...
@overload
def local_to_utc(value: datetime | None) -> datetime | None: ...
def local_to_utc(value: datetime | None) -> datetime | None:
    """A naive local wall-clock time from a form, as aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=LOCAL_TZ).astimezone(UTC)


@overload
def utc_to_local_naive(value: datetime) -> datetime: ...
@overload
def utc_to_local_naive(value: None) -> None: ...
@overload
def utc_to_local_naive(value: datetime | None) -> datetime | None: ...
def utc_to_local_naive(value: datetime | None) -> datetime | None:
    """A stored time as the naive local value a datetime-local input shows."""
    local = to_local(value)
    return local.replace(tzinfo=None) if local else None


class EventForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, label) for k, label in KIND_LABELS.items()])
    organization_id = SelectField(_l("Organizer"), coerce=int, validators=[DataRequired()])
    starts_at = DateTimeLocalField(_l("Starts"), format=DATETIME_FORMAT, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends"), format=DATETIME_FORMAT, validators=[DataRequired()])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    latitude = FloatField(_l("Latitude"), validators=[Optional()])
    longitude = FloatField(_l("Longitude"), validators=[Optional()])
    checkin_radius_m = IntegerField(_l("Check-in radius (metres)"), validators=[Optional()])
    geofence_mode = SelectField(
        _l("Outside the radius"),
        choices=[SelectChoice(k, v) for k, v in GEOFENCE_LABELS.items()],
        default=GeofenceMode.FLAG.value,
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10_000)])
    brand_tag = StringField(_l("Brand / project tag"), validators=[Optional(), Length(max=40)])
    signup_opens_at = DateTimeLocalField(_l("Sign-up opens"), format=DATETIME_FORMAT, validators=[Optional()])
    signup_closes_at = DateTimeLocalField(_l("Sign-up closes"), format=DATETIME_FORMAT, validators=[Optional()])
    cancel_cutoff_hours = IntegerField(
        _l("Volunteers may cancel until (hours before their shift)"), default=24, validators=[Optional()]
    )
    allow_walk_ins = BooleanField(_l("Walk-ins may check in"))
    checkin_opens_minutes = IntegerField(
        _l("Check-in opens (minutes before a shift)"), default=30, validators=[Optional()]
    )
    grants_credential_type_id = SelectField(
        _l("Attending grants the credential (training courses)"), coerce=optional_int, validate_choice=True
    )

    def to_data(self) -> manage.EventData:
        """The form's values as the service takes them (UTC times)."""
        return manage.EventData(
            title=self.title.data or "",
            kind=self.kind.data,
            organization_id=self.organization_id.data,
            starts_at=local_to_utc(self.starts_at.data),
            ends_at=local_to_utc(self.ends_at.data),
            place=self.place.data or "",
            latitude=self.latitude.data,
            longitude=self.longitude.data,
            checkin_radius_m=self.checkin_radius_m.data,
            geofence_mode=self.geofence_mode.data,
            description=self.description.data or "",
            brand_tag=self.brand_tag.data or "",
            signup_opens_at=local_to_utc(self.signup_opens_at.data),
            signup_closes_at=local_to_utc(self.signup_closes_at.data),
            cancel_cutoff_hours=self.cancel_cutoff_hours.data if self.cancel_cutoff_hours.data is not None else 24,
            allow_walk_ins=bool(self.allow_walk_ins.data),
            checkin_opens_minutes=(
                self.checkin_opens_minutes.data if self.checkin_opens_minutes.data is not None else 30
            ),
            grants_credential_type_id=self.grants_credential_type_id.data,
        )

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then every event rule at once, each message beside its field."""
        if not super().validate(extra_validators):
            return False
        show_problems(self, manage.event_problems(self.to_data()))
        return not any(f.errors for f in self) and not self.form_errors

    def fill_from(self, event) -> None:
        """Show a stored event (times in local time)."""
        self.process(obj=event)
        for name in ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at"):
            getattr(self, name).data = utc_to_local_naive(getattr(event, name))


class PositionForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    min_age = IntegerField(_l("Minimum age"), default=0, validators=[Optional(), NumberRange(0, 100)])
    skills = MultiCheckboxField(_l("Required skills"), coerce=int)
    credentials = MultiCheckboxField(_l("Required training"), coerce=int)

    def to_data(self) -> manage.PositionData:
        """The form's values as the service takes them."""
        return manage.PositionData(
            name=self.name.data or "",
            description=self.description.data or "",
            min_age=self.min_age.data or 0,
            skill_ids=list(self.skills.data or []),
            credential_type_ids=list(self.credentials.data or []),
        )


class ShiftForm(FlaskForm):
    starts_at = DateTimeLocalField(_l("Starts"), format=DATETIME_FORMAT, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends"), format=DATETIME_FORMAT, validators=[DataRequired()])
    capacity = IntegerField(_l("Headcount"), validators=[DataRequired(), NumberRange(1, MAX_HEADCOUNT)])
    meeting_point = StringField(_l("Meeting point"), validators=[Optional(), Length(max=200)])

    def to_data(self) -> ShiftData:
        """The form's values as the service takes them (UTC times)."""
        return ShiftData(
            starts_at=local_to_utc(self.starts_at.data),
            ends_at=local_to_utc(self.ends_at.data),
            capacity=self.capacity.data,
            meeting_point=self.meeting_point.data or "",
        )

    def fill_from(self, shift) -> None:
        """Show a stored shift (times in local time)."""
        self.process(obj=shift)
        self.starts_at.data = utc_to_local_naive(shift.starts_at)
        self.ends_at.data = utc_to_local_naive(shift.ends_at)


class BulkShiftForm(FlaskForm):
    position_ids = MultiCheckboxField(_l("Positions"), coerce=int)
    first_day = DateField(_l("First day"), validators=[DataRequired()])
    last_day = DateField(_l("Last day"), validators=[DataRequired()])
    weekdays = MultiCheckboxField(
        _l("Weekdays"),
        coerce=int,
        choices=[SelectChoice(i, label) for i, label in enumerate(WEEKDAY_LABELS)],
        default=list(range(7)),
    )
    time_slots = TextAreaField(_l("Time slots"), validators=[DataRequired()], default="08:00-12:00\n12:00-17:00")
    default_headcount = IntegerField(
        _l("Headcount per shift"), default=1, validators=[DataRequired(), NumberRange(1, MAX_HEADCOUNT)]
    )
    meeting_point = StringField(_l("Meeting point"), validators=[Optional(), Length(max=200)])
    #: how many shifts the preview promised; saving re-plans and refuses if the number changed
    expected_count = HiddenField()

    positions: list = []

    def headcount_fields(self) -> list:
        """(position, its headcount field) for every position of the event."""
        return [(p, getattr(self, f"headcount_{p.id}")) for p in self.positions]

    def to_pattern(self) -> BulkPattern:
        """The chosen pattern; a position without its own headcount takes the default."""
        headcounts = {p.id: (f.data or self.default_headcount.data) for p, f in self.headcount_fields()}
        return BulkPattern(
            position_ids=list(self.position_ids.data or []),
            first_day=self.first_day.data,
            last_day=self.last_day.data,
            weekdays=set(self.weekdays.data or []),
            slots=parse_time_slots(self.time_slots.data or ""),
            headcounts=headcounts,
            meeting_point=self.meeting_point.data or "",
        )


def bulk_form_for(positions: list, **kwargs) -> BulkShiftForm:
    """A bulk form with one optional headcount field per position of the event."""
    form_class = type(
        "EventBulkShiftForm",
        (BulkShiftForm,),
        {
            f"headcount_{p.id}": IntegerField(p.name, validators=[Optional(), NumberRange(1, MAX_HEADCOUNT)])
            for p in positions
        },
    )
    form = form_class(**kwargs)
    form.positions = positions
    form.position_ids.choices = [(p.id, p.name) for p in positions]
    return form
