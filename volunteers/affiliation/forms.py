"""Forms of the affiliation pages: a move request, a decision, a bulk move and a graduates' hand-over.

Organization and people fields accept any id (`validate_choice=False`): the services say what is wrong with a
value (unknown, outside the subtree, inside the university) beside the field.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.web.forms import optional_int


def _organization_field(label) -> SelectField:
    return SelectField(
        label,
        coerce=optional_int,
        validate_choice=False,
        validators=[DataRequired(message=_l("Choose the organization from the list."))],
    )


class MoveRequestForm(FlaskForm):
    """A volunteer asks to move to another organization."""

    organization_id = _organization_field(_l("Move to"))
    note = TextAreaField(_l("Note for the receiving organization"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Ask to move"))


class DecisionForm(FlaskForm):
    """Refuse a change: the reason is required (the service says so beside the field)."""

    decision_reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Refuse"))


class PeopleFilterForm(FlaskForm):
    """Which people to list: an organization of the subtree (and below) and part of a name (a GET form)."""

    class Meta:
        csrf = False

    organization = SelectField(_l("Organization (and below)"), coerce=optional_int, validate_choice=False)
    name = StringField(_l("Name contains"), validators=[Optional(), Length(max=50)])


class PeopleMoveForm(FlaskForm):
    """Chosen people and where they go: a staff move in bulk, or a graduates' hand-over."""

    volunteer_ids = SelectMultipleField(_l("People"), coerce=int, validate_choice=False)
    to_organization_id = _organization_field(_l("Target organization"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Move"))
