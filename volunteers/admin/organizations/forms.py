"""Forms of the organization pages. Each has its own prefix: the node's page shows them all at once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.web.forms import optional_int


class ChildForm(FlaskForm):
    """Add an organization below this one."""

    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    short_name = StringField(_l("Short name"), validators=[Optional(), Length(max=60)])
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    code = StringField(_l("Organization code"), validators=[Optional(), Length(max=40)])


class RenameForm(FlaskForm):
    """Rename an organization or change its code."""

    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    short_name = StringField(_l("Short name"), validators=[Optional(), Length(max=60)])
    code = StringField(_l("Organization code"), validators=[Optional(), Length(max=40)])


class MoveForm(FlaskForm):
    """Put an organization and its subtree under another parent."""

    parent_id = SelectField(_l("New parent organization"), coerce=int, validators=[DataRequired()])


class CloseForm(FlaskForm):
    """Close an organization, moving what it holds in the same step."""

    move_to = SelectField(_l("Move its members and open records to"), coerce=optional_int, validators=[Optional()])
    reason = TextAreaField(_l("Why it closes"), validators=[DataRequired(), Length(max=500)])
