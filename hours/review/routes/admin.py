"""Reviewer and administrator pages: disputes to answer, the hours audit trail, rounding rules."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from app import permissions
from app.extensions import db
from app.permissions import REVIEWER_ROLES, role_required
from app.timeutil import utcnow
from app.web.forms import form_page
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from hours.blueprint import bp
from hours.ledger.minutes import set_rounding_rule
from hours.ledger.models import HourDispute, RoundingPolicy
from hours.review import audit_trail, disputes
from hours.review.forms import ROUNDING_LABELS, AuditFilterForm, DisputeAnswerForm, RoundingForm
from volunteers.organizations.models import Organization


@bp.get("/disputes")
@login_required
@role_required(*REVIEWER_ROLES)
def list_disputes():
    """Disputes about hours of events in the reviewer's subtree: open ones, or answered ones."""
    status = "answered" if request.args.get("status") == "answered" else "open"
    pager = db.paginate(
        disputes.disputes_for_reviewer(acting_user(), status=status),
        page=request.args.get("page", 1, type=query_int),
        per_page=50,
        error_out=False,
    )
    return render_template(
        "hours/disputes.html",
        pager=pager,
        status=status,
        page_url=lambda n: url_for("hours.list_disputes", page=n, status=status),
    )


@bp.route("/disputes/<int:dispute_id>", methods=["GET", "POST"])
@login_required
def answer_dispute(dispute_id: int):
    """A reviewer reads a dispute and answers it, optionally correcting the hours."""
    dispute = load_or_404(HourDispute, dispute_id, permissions.can_answer_dispute, denied=403)
    form = DisputeAnswerForm()
    if dispute.status != "open":  # answered already: shown, not answered again
        return render_template("hours/dispute_answer.html", dispute=dispute, form=form), (
            409 if form.is_submitted() else 200
        )
    return form_page(
        form,
        lambda: disputes.answer_dispute(
            dispute,
            by=acting_user(),
            answer=form.answer.data,
            now=utcnow(),
            corrected_minutes=form.corrected_minutes.data,
        ),
        success=_("Your answer was sent to the volunteer."),
        then=lambda _answered: redirect(url_for("hours.list_disputes")),
        raise_statuses=(403,),
        template="hours/dispute_answer.html",
        dispute=dispute,
    )


@bp.get("/audit")
@login_required
def hours_audit():
    """The hours audit trail of the reviewer's subtrees, filtered by action, person, entry, event and dates."""
    if not permissions.can_read_hours_audit(current_user):
        abort(403)
    filters = AuditFilterForm(request.args)
    filters.action.choices = [SelectChoice("", _("All actions")), *audit_trail.action_choices()]
    criteria, status = {}, 200
    if filters.validate():
        criteria = {
            name: getattr(filters, name).data or None
            for name in ("action", "actor_mobile", "entry_id", "event_id", "date_from", "date_to")
        }
    else:
        status = 422
    pager = db.paginate(
        audit_trail.entries_query(acting_user(), **criteria),
        page=request.args.get("page", 1, type=query_int),
        per_page=50,
        error_out=False,
    )
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "hours/audit.html",
        filters=filters,
        pager=pager,
        rows=audit_trail.describe(pager.items),
        page_url=lambda n: url_for("hours.hours_audit", page=n, **args),
    ), status


def _administered_organizations() -> list[Organization]:
    paths = permissions.role_paths(current_user, "admin")
    return list(
        db.session.scalars(
            select(Organization)
            .where(permissions.subtree_filter(Organization.path, paths))
            .order_by(Organization.path)
            .limit(2000)
        )
    )


@bp.route("/rounding", methods=["GET", "POST"])
@login_required
@role_required("admin")
def rounding_rules():
    """Administrators set how organizations in their subtree round credited minutes."""
    organizations = _administered_organizations()
    form = RoundingForm()
    form.organization_id.choices = [SelectChoice(o.id, o.display_name) for o in organizations]

    def page(status: int):
        ids = [o.id for o in organizations]
        policies = db.session.scalars(select(RoundingPolicy).where(RoundingPolicy.organization_id.in_(ids))).all()
        return render_template("hours/rounding.html", form=form, policies=policies, labels=ROUNDING_LABELS), status

    def save() -> RoundingPolicy:
        organization = db.session.get(Organization, form.organization_id.data)
        assert organization is not None  # the form validated: one of the administered organizations
        return set_rounding_rule(organization, form.rule.data, by=acting_user(), now=utcnow())

    return form_page(
        form,
        save,
        success=_("Rounding rule saved."),
        then=lambda _saved: redirect(url_for("hours.rounding_rules")),
        raise_statuses=(403,),
        render=page,
    )
