"""The volunteers' event filter (dates, town, kind, skill)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional

from app.web.forms import optional_int
from events.labels import KIND_LABELS


class EventFilterForm(FlaskForm):
    class Meta:
        csrf = False

    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    town_id = SelectField(_l("Town"), coerce=optional_int, validators=[Optional()])
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice("", _l("Any kind"))] + [SelectChoice(k, v) for k, v in KIND_LABELS.items()],
        validators=[Optional()],
    )
    skill_id = SelectField(_l("Skill"), coerce=optional_int, validators=[Optional()])
