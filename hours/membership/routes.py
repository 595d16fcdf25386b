"""Membership prerequisite pages: an applicant's own progress, the committee list and exports, and decisions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from app import permissions
from app.extensions import db
from app.timeutil import local_today, utcnow
from app.web.forms import form_page, refusal_status, show_refusal
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from hours.blueprint import bp
from hours.membership import progress as membership
from hours.membership.decisions import describe_missing, record_evaluation, verify_eligibility
from hours.membership.export import XLSX_MIMETYPE, approved_members, write_applicant_list, write_league_export
from hours.membership.forms import (
    STATUS_LABELS,
    ApplicantFilterForm,
    ApprovedExportForm,
    EvaluationForm,
    VerificationForm,
)
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

PER_PAGE = 50


@dataclass
class ListPage:
    """One page of an in-memory list, shaped like Flask-SQLAlchemy's Pagination for the pager template."""

    items: list
    page: int
    pages: int
    total: int

    @classmethod
    def of(cls, rows: list, page: int, per_page: int = PER_PAGE) -> ListPage:
        pages = max(math.ceil(len(rows) / per_page), 1)
        page = min(max(page, 1), pages)
        return cls(rows[(page - 1) * per_page : page * per_page], page, pages, len(rows))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _page_url(page: int) -> str:
    args: dict[str, Any] = request.args.to_dict()
    args["page"] = page
    assert request.endpoint is not None  # a page of a routed request
    return url_for(request.endpoint, **args)


def _require_lister() -> User:
    if not permissions.can_list_applicants(current_user):
        abort(403)
    return acting_user()


def _organization_choices(viewer: User) -> list[tuple[int, str]]:
    orgs = db.session.scalars(
        select(Organization)
        .where(permissions.subtree_filter(Organization.path, permissions.role_paths(viewer, permissions.STAFF_ROLES)))
        .order_by(Organization.path)
    )
    return [SelectChoice(0, _("All my organizations"))] + [
        SelectChoice(o.id, "— " * o.depth + o.display_name) for o in orgs
    ]


def _filtered_list(viewer: User):
    """The filter form, the applicants it selects, the counts per filter, and the HTTP status."""
    filters = ApplicantFilterForm(request.args)
    filters.status.choices = [SelectChoice("", _("All applicants"))] + [
        SelectChoice(code, str(label)) for code, label in STATUS_LABELS.items()
    ]
    filters.organization.choices = _organization_choices(viewer)
    organization, status, http_status = None, None, 200
    if filters.validate():
        status = filters.status.data or None
        if filters.organization.data:
            organization = db.session.get(Organization, filters.organization.data)
    else:
        http_status = 422
    rows, counts = membership.eligibility_list(viewer, now=utcnow(), organization=organization, status=status)
    return filters, rows, counts, http_status


@bp.get("/membership")
@login_required
def membership_progress():
    """The signed-in volunteer's own progress towards the membership prerequisite (nobody else's)."""
    user = acting_user()
    progress = membership.progress_of(user, now=utcnow())
    return render_template(
        "hours/membership.html",
        progress=progress,
        missing=describe_missing(progress),
        is_applicant=user.political_status == membership.ACTIVIST,
        classes=membership.theory_class_attendances(user),
        can_list=permissions.can_list_applicants(user),
    )


@bp.get("/membership/applicants")
@login_required
def membership_applicants():
    """The applicants of the viewer's subtrees with their progress, filtered by readiness and organization."""
    viewer = _require_lister()
    filters, rows, counts, status = _filtered_list(viewer)
    pager = ListPage.of(rows, request.args.get("page", 1, type=query_int))
    return render_template(
        "hours/membership_applicants.html",
        filters=filters,
        pager=pager,
        counts=counts,
        status_labels=STATUS_LABELS,
        rules=membership.rules(),
        page_url=_page_url,
        describe_missing=describe_missing,
    ), status


@bp.get("/membership/applicants.xlsx")
@login_required
def export_membership_applicants():
    """The filtered applicant list as an Excel file."""
    viewer = _require_lister()
    filters, rows, counts, status = _filtered_list(viewer)
    if status != 200:
        pager = ListPage.of(rows, 1)
        return render_template(
            "hours/membership_applicants.html",
            filters=filters,
            pager=pager,
            counts=counts,
            status_labels=STATUS_LABELS,
            rules=membership.rules(),
            page_url=_page_url,
            describe_missing=describe_missing,
        ), status
    name = f"membership-applicants-{local_today().isoformat()}.xlsx"
    return send_file(write_applicant_list(rows), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)


def _load_applicant(user_id: int) -> User:
    return load_or_404(User, user_id, permissions.can_assess_applicant, denied=403)


def _render_applicant(applicant: User, *, evaluation_form=None, verification_form=None, status: int = 200):
    progress = membership.progress_of(applicant, now=utcnow())
    return render_template(
        "hours/membership_applicant.html",
        applicant=applicant,
        progress=progress,
        missing=describe_missing(progress),
        classes=membership.theory_class_attendances(applicant),
        evaluations=membership.evaluations_of(applicant),
        verifications=membership.verifications_of(applicant),
        evaluation_form=evaluation_form or EvaluationForm(formdata=None),
        verification_form=verification_form or VerificationForm(formdata=None),
        is_applicant=applicant.political_status == membership.ACTIVIST,
        is_self=applicant.id == current_user.id,
    ), status


@bp.get("/membership/applicants/<int:user_id>")
@login_required
def membership_applicant(user_id: int):
    """One applicant's progress, evaluations and decisions, with the forms to record them."""
    return _render_applicant(_load_applicant(user_id))


@bp.post("/membership/applicants/<int:user_id>/evaluation")
@login_required
def record_membership_evaluation(user_id: int):
    """Record the applicant's ideology evaluation result."""
    applicant = _load_applicant(user_id)
    form = EvaluationForm()
    return form_page(
        form,
        lambda: record_evaluation(
            applicant, passed=form.result.data == "passed", note=form.note.data or "", by=acting_user(), now=utcnow()
        ),
        success=lambda _recorded: _("The ideology evaluation of %(name)s is recorded.", name=applicant.name),
        then=lambda _recorded: redirect(url_for("hours.membership_applicant", user_id=applicant.id)),
        show=lambda exc: show_refusal(form, exc, field="result"),
        status_of=refusal_status,
        render=lambda status: _render_applicant(applicant, evaluation_form=form, status=status),
    )


@bp.post("/membership/applicants/<int:user_id>/verification")
@login_required
def verify_membership_eligibility(user_id: int):
    """Record the committee's decision on the applicant's eligibility (approval only when all conditions hold)."""
    applicant = _load_applicant(user_id)
    form = VerificationForm()
    approved = form.decision.data == "approved"
    return form_page(
        form,
        lambda: verify_eligibility(
            applicant, approved=approved, note=form.note.data or "", by=acting_user(), now=utcnow()
        ),
        success=lambda _decided: (
            _("%(name)s is verified as meeting the membership prerequisite.", name=applicant.name)
            if approved
            else _("Your decision not to approve %(name)s is recorded.", name=applicant.name)
        ),
        then=lambda _decided: redirect(url_for("hours.membership_applicant", user_id=applicant.id)),
        show=lambda exc: show_refusal(form, exc, field="decision"),
        status_of=refusal_status,
        render=lambda status: _render_applicant(applicant, verification_form=form, status=status),
    )


def _default_since() -> date:
    """The first day of last month: new members are entered into the national system within a month."""
    first_of_month = local_today().replace(day=1)
    return (first_of_month - timedelta(days=1)).replace(day=1)


@bp.get("/membership/approved")
@login_required
def approved_membership_export():
    """Newly approved members of the viewer's subtrees since a chosen day, ready to export."""
    viewer = _require_lister()
    form = ApprovedExportForm(request.args if "since" in request.args else None, since=_default_since())
    status = 200
    if "since" in request.args and not form.validate():
        status = 422
    members = approved_members(viewer, since=form.since.data) if status == 200 and form.since.data else []
    return render_template(
        "hours/membership_approved.html",
        form=form,
        members=members,
        viewer=viewer,
        can_export_id=permissions.can_export_id_numbers,
    ), status


@bp.post("/membership/approved.xlsx")
@login_required
def export_approved_members():
    """Download newly approved members for the national League system; full ID numbers for administrators only."""
    viewer = _require_lister()
    form = ApprovedExportForm(request.form)
    if not form.validate():
        return render_template(
            "hours/membership_approved.html",
            form=form,
            members=[],
            viewer=viewer,
            can_export_id=permissions.can_export_id_numbers,
        ), 422
    file, _rows = write_league_export(viewer, since=form.since.data, now=utcnow())
    db.session.commit()
    name = f"league-new-members-since-{form.since.data.isoformat()}.xlsx"
    return send_file(file, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)
