"""The directory's filters and the reason given to disable or re-enable an account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from volunteers.accounts.forms import political_choices
from volunteers.accounts.roles import ROLE_LABELS
from volunteers.admin.directory.disabling import REASON_MAX
from volunteers.admin.directory.search import NO_ROLE, STATUS_LABELS


class PeopleFilterForm(FlaskForm):
    """Search and narrow the directory (a GET form: no CSRF token). The organization choices are set by the view."""

    class Meta:
        csrf = False

    name = StringField(_l("Name"), validators=[Optional(), Length(max=50)])
    mobile_tail = StringField(_l("Mobile (last 4 digits)"), validators=[Optional()])
    organization = SelectField(_l("Organization (and below)"), coerce=int, default=0)
    role = SelectField(_l("Role"), default="")
    status = SelectField(_l("Account status"), default="")
    political_status = SelectField(_l("Political status"), default="")

    def __init__(self, *args, organization_choices: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organization.choices = [(0, _l("All my organizations")), *organization_choices]
        self.role.choices = [
            ("", _l("Any role")),
            *[(code, label) for code, label in ROLE_LABELS.items()],
            (NO_ROLE, _l("No role (volunteers)")),
        ]
        self.status.choices = [("", _l("Any status")), *STATUS_LABELS.items()]
        self.political_status.choices = [("", _l("Any political status")), *political_choices()]

    def validate_mobile_tail(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        if field.data and not (len(field.data) == 4 and field.data.isascii() and field.data.isdigit()):
            raise ValidationError(_l("Enter exactly the last 4 digits of the mobile number."))


class AccountStatusForm(FlaskForm):
    """Disable or re-enable an account, with the reason the audit trail keeps."""

    reason = StringField(_l("Reason"), validators=[Length(max=REASON_MAX)])
    submit = SubmitField(_l("Confirm"))
