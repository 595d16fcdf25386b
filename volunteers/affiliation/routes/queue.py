"""The receiving side's queue: pending requests and graduates' hand-overs into the reviewer's subtree."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import DomainError
from app.extensions import db
from app.permissions import REVIEWER_ROLES, Role, can_decide_affiliation, has_any_role, role_required
from app.timeutil import utcnow
from app.web.forms import form_page, refusal_status, run_action, show_refusal
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from volunteers.affiliation import services
from volunteers.affiliation.forms import DecisionForm
from volunteers.affiliation.models import AffiliationChange, ChangeKind
from volunteers.blueprint import admin_bp as bp

PER_PAGE = 50
DECIDERS = (Role.REVIEWER.value, Role.ADMIN.value)


@bp.app_context_processor
def inject_affiliation_count():
    """`pending_affiliation_count()` for the top bar and the start page: one COUNT, only for reviewers and admins."""

    def pending_affiliation_count() -> int:
        if not current_user.is_authenticated or not has_any_role(current_user, REVIEWER_ROLES):
            return 0
        if "_pending_affiliation" not in g:
            g._pending_affiliation = services.queue_count(current_user)
        return g._pending_affiliation

    return {"pending_affiliation_count": pending_affiliation_count}


def _page_url(page: int) -> str:
    args: dict[str, Any] = request.args.to_dict()
    args["page"] = page
    return url_for("admin.affiliation_queue", **args)


@bp.get("/affiliation")
@login_required
@role_required(*DECIDERS)
def affiliation_queue():
    """Pending requests and hand-overs into the organizations the reviewer or administrator decides for."""
    kind = request.args.get("kind", "")
    if kind not in {k.value for k in ChangeKind} - {ChangeKind.STAFF_MOVE.value}:
        kind = ""
    changes = db.paginate(
        services.queue_query(acting_user(), kind=kind or None),
        page=request.args.get("page", 1, type=query_int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "volunteers/affiliation/queue.html",
        changes=changes,
        kind=kind,
        kind_label=services.kind_label,
        page_url=_page_url,
    )


def _render_decision(change: AffiliationChange, form: DecisionForm, status: int = 200):
    return render_template(
        "volunteers/affiliation/decide.html",
        change=change,
        form=form,
        kind_label=services.kind_label,
        status_label=services.status_label,
    ), status


@bp.get("/affiliation/<int:change_id>")
@login_required
def show_affiliation_change(change_id: int):
    """One pending change with the buttons to approve or refuse it."""
    change = load_or_404(AffiliationChange, change_id, can_decide_affiliation, denied=403)
    return _render_decision(change, DecisionForm())


@bp.post("/affiliation/<int:change_id>/approve")
@login_required
def approve_affiliation_change(change_id: int):
    """Accept the change: the volunteer moves to the receiving organization (audited)."""
    change = load_or_404(AffiliationChange, change_id, can_decide_affiliation, denied=403)
    name, org = change.volunteer.name, change.to_organization.display_name
    done = run_action(
        lambda: services.approve_change(change, by=acting_user(), now=utcnow()),
        success=_("%(name)s now belongs to %(org)s.", name=name, org=org),
    )
    if done.refusal is not None:
        return redirect(url_for("admin.show_affiliation_change", change_id=change_id))
    return redirect(url_for("admin.affiliation_queue"))


@bp.post("/affiliation/<int:change_id>/refuse")
@login_required
def refuse_affiliation_change(change_id: int):
    """Refuse the change with a reason the volunteer reads; nobody moves."""
    change = load_or_404(AffiliationChange, change_id, can_decide_affiliation, denied=403)
    form = DecisionForm()
    name = change.volunteer.name
    return form_page(
        form,
        lambda: services.refuse_change(change, by=acting_user(), now=utcnow(), reason=form.decision_reason.data or ""),
        success=_("The change of %(name)s is refused.", name=name),
        then=lambda _change: redirect(url_for("admin.affiliation_queue")),
        catch=DomainError,
        show=lambda exc: show_refusal(form, exc, field="decision_reason"),
        status_of=refusal_status,
        render=lambda status: _render_decision(change, form, status),
    )
