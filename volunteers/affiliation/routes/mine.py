"""The volunteer's affiliation page: ask to move, see the pending request, withdraw it, read the history."""

from __future__ import annotations

from flask import redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import Conflict, ValidationFailed
from app.permissions import can_cancel_affiliation
from app.timeutil import utcnow
from app.web.forms import form_page, refusal_status, run_action, show_refusal
from app.web.loading import load_or_404
from app.web.pages import acting_user
from volunteers.accounts.services import organization_choices
from volunteers.affiliation import services
from volunteers.affiliation.forms import MoveRequestForm
from volunteers.affiliation.handover import university_of
from volunteers.affiliation.models import AffiliationChange, ChangeKind
from volunteers.blueprint import bp


@bp.app_context_processor
def inject_affiliation_history():
    """`affiliation_history(volunteer)` and `affiliation_kind_label(kind)` for the profile page."""
    return {"affiliation_history": services.history_of, "affiliation_kind_label": services.kind_label}


@bp.route("/me/affiliation", methods=["GET", "POST"])
@login_required
def my_affiliation():
    """The volunteer's affiliation: ask to move to another organization, or see the request waiting."""
    volunteer = acting_user()
    form = MoveRequestForm()
    form.organization_id.choices = [
        (org_id, label) for org_id, label in organization_choices() if org_id != volunteer.organization_id
    ]
    changes = services.changes_of(volunteer)
    return form_page(
        form,
        lambda: services.request_move(volunteer, form.organization_id.data, form.note.data or "", now=utcnow()),
        success=lambda change: _(
            "Your request to move to %(org)s is sent; its staff will decide.", org=change.to_organization.display_name
        ),
        then=lambda _change: redirect(url_for("volunteers.my_affiliation")),
        catch=(ValidationFailed, Conflict),
        show=lambda exc: show_refusal(form, exc),
        status_of=refusal_status,
        template="volunteers/affiliation/mine.html",
        volunteer=volunteer,
        pending=next((change for change in changes if change.is_pending), None),
        changes=changes,
        kind_label=services.kind_label,
        status_label=services.status_label,
    )


@bp.post("/affiliation/<int:change_id>/cancel")
@login_required
def cancel_affiliation_change(change_id: int):
    """Withdraw a pending change: the volunteer's own request, or a university's hand-over of a graduate."""
    change = load_or_404(AffiliationChange, change_id, can_cancel_affiliation, denied=403)
    own = change.volunteer_id == current_user.id
    university = university_of(change.from_organization)
    run_action(
        lambda: services.cancel_change(change, by=acting_user(), now=utcnow()),
        success=_("The request is withdrawn.") if own else _("The hand-over is withdrawn."),
    )
    if own or change.kind != ChangeKind.GRADUATION.value or university is None:
        return redirect(url_for("volunteers.my_affiliation"))
    return redirect(url_for("admin.hand_over_graduates", university_id=university.id))
