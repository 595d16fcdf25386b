"""Patrol reports: file and read them, add and change findings and photos, follow findings up; the committee view."""

from __future__ import annotations

import io
from datetime import date

from flask import Response, abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from app import permissions
from app.extensions import db
from app.timeutil import local_today, utcnow
from app.web.forms import form_page, run_action, save_form
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from patrols.blueprint import bp
from patrols.reports import committee, photos
from patrols.reports import history as report_history
from patrols.reports import services as reports
from patrols.reports.forms import (
    PHOTO_ACCEPT,
    CommitteeForm,
    FindingForm,
    ForwardForm,
    ReportForm,
    ResolveForm,
    SummaryForm,
    parse_month,
)
from patrols.reports.models import CATEGORY_LABELS, STATUS_LABELS, PatrolFinding, PatrolPhoto, PatrolReport
from patrols.segments.models import PatrolShift, RiverSegment
from volunteers.organizations.models import Organization

#: refusals about the whole report rather than a field (not allowed; changed meanwhile): the site's handler shows them
NOT_FOR_THE_FORM = (403, 409)


def _uploads(field) -> list[photos.Upload]:
    """The photos sent in a file field, each read up to the size limit (+1 byte, to tell it was larger)."""
    limit = photos.max_bytes()
    return [
        photos.Upload(photos.read_upload(f.stream, limit), f.filename or "")
        for f in (field.data or [])
        if f is not None and getattr(f, "filename", None)
    ]


def _to_report(report: PatrolReport):
    return redirect(url_for("patrols.show_report", report_id=report.id))


def _to_finding(finding: PatrolFinding):
    return redirect(url_for("patrols.show_report", report_id=finding.report_id, _anchor=f"finding-{finding.id}"))


def _viewable_report(report_id: int) -> PatrolReport:
    return load_or_404(
        PatrolReport,
        report_id,
        lambda user, report: permissions.can_view_patrol_reports(user, report.segment),
        denied=403,
    )


def _editable_report(report_id: int) -> PatrolReport:
    return load_or_404(
        PatrolReport,
        report_id,
        lambda user, report: (
            permissions.can_view_patrol_reports(user, report.segment)
            and permissions.can_edit_patrol_report(user, report)
        ),
        denied=403,
    )


def _photo_settings() -> dict:
    return {
        "photo_accept": PHOTO_ACCEPT,
        "photo_max_mb": photos.max_bytes() / 1024 / 1024,
        "photos_per_finding": photos.max_photos_per_finding(),
    }


@bp.context_processor
def segment_reports_helpers():
    """Give the segment page's partial (_segment_reports.html) its data, for viewers allowed to see reports."""

    def segment_reports_panel(segment: RiverSegment):
        if not permissions.can_view_patrol_reports(current_user, segment):
            return None
        now = utcnow()
        return {
            "patrols": report_history.recent_patrols(segment, acting_user(), now=now),
            "open_findings": report_history.open_findings(segment),
            "open_count": reports.open_finding_count(segment),
        }

    return {
        "segment_reports_panel": segment_reports_panel,
        "finding_category_labels": CATEGORY_LABELS,
        "finding_status_labels": STATUS_LABELS,
    }


@bp.get("/segments/<int:segment_id>/reports")
@login_required
def segment_reports(segment_id: int):
    """A segment's whole patrol history (who patrolled, reports) and its open findings."""
    segment = load_or_404(RiverSegment, segment_id, permissions.can_view_patrol_reports, denied=403)
    pager, rows = report_history.history_page(
        segment, acting_user(), now=utcnow(), page=request.args.get("page", 1, type=query_int)
    )
    return render_template(
        "patrols/report_history.html",
        segment=segment,
        pager=pager,
        rows=rows,
        open_findings=report_history.open_findings(segment, limit=None),
        page_url=lambda n: url_for("patrols.segment_reports", segment_id=segment.id, page=n),
    )


@bp.route("/patrols/<int:patrol_id>/report", methods=["GET", "POST"])
@login_required
def file_report(patrol_id: int):
    """File the report of a patrol: what it saw, and its first finding with photos."""
    patrol = load_or_404(PatrolShift, patrol_id, permissions.can_file_patrol_report, denied=403)
    existing = reports.report_of(patrol)
    if existing is not None:
        return _to_report(existing)
    now = utcnow()
    reports.check_can_file(patrol, by=acting_user(), now=now)
    form = ReportForm()
    return form_page(
        form,
        lambda: reports.file_report(
            patrol,
            summary=form.summary.data or "",
            finding=form.finding_data() if form.has_finding() else None,
            uploads=_uploads(form.photos),
            by=acting_user(),
            now=now,
        ),
        success=_("Patrol report filed."),
        then=_to_report,
        raise_statuses=NOT_FOR_THE_FORM,
        template="patrols/report_form.html",
        patrol=patrol,
        segment=patrol.segment,
        people=report_history.patrollers([patrol.shift_id]).get(patrol.shift_id, []),
        **_photo_settings(),
    )


def _render_report(
    report: PatrolReport,
    *,
    status: int = 200,
    finding_form: FindingForm | None = None,
    summary_form: SummaryForm | None = None,
    follow_up: dict | None = None,
):
    """The report page, with any form that failed shown with its errors."""
    segment = report.segment
    findings = report_history.report_findings(report)
    can_follow_up = permissions.can_follow_up_findings(current_user, segment)
    forms = {}
    for finding in findings:
        if can_follow_up and finding.is_open:
            forms[finding.id] = (follow_up or {}).get(finding.id) or (
                ForwardForm(prefix=f"forward-{finding.id}", formdata=None),
                ResolveForm(prefix=f"resolve-{finding.id}", formdata=None),
            )
    if summary_form is None:
        summary_form = SummaryForm(formdata=None, data={"summary": report.summary})
    return render_template(
        "patrols/report.html",
        report=report,
        segment=segment,
        patrol=report.patrol_shift,
        people=report_history.patrollers([report.patrol_shift.shift_id]).get(report.patrol_shift.shift_id, []),
        findings=findings,
        can_edit=permissions.can_edit_patrol_report(current_user, report),
        can_follow_up=can_follow_up,
        finding_form=finding_form or FindingForm(formdata=None),
        summary_form=summary_form,
        follow_up_forms=forms,
        **_photo_settings(),
    ), status


def _save_on_report(report: PatrolReport, form, save, *, success: str, then, **shown_forms):
    """Save a form sent from the report page; bad input shows the page again (422) with `shown_forms`."""
    done = save_form(form, save, success=success, then=then, raise_statuses=NOT_FOR_THE_FORM)
    return done if done is not None else _render_report(report, status=422, **shown_forms)


@bp.get("/reports/<int:report_id>")
@login_required
def show_report(report_id: int):
    """A patrol report: who patrolled, what they saw, each finding with photos and follow-up."""
    return _render_report(_viewable_report(report_id))


@bp.post("/reports/<int:report_id>/summary")
@login_required
def edit_report_summary(report_id: int):
    """Change what the report says the patrol saw."""
    report = _editable_report(report_id)
    form = SummaryForm()
    return _save_on_report(
        report,
        form,
        lambda: reports.update_summary(report, form.summary.data or "", by=acting_user(), now=utcnow()),
        success=_("Report saved."),
        then=lambda _saved: _to_report(report),
        summary_form=form,
    )


@bp.post("/reports/<int:report_id>/findings")
@login_required
def add_finding(report_id: int):
    """Add a finding, with photos, to a report."""
    report = _editable_report(report_id)
    form = FindingForm()
    return _save_on_report(
        report,
        form,
        lambda: reports.add_finding(report, form.finding_data(), _uploads(form.photos), by=acting_user(), now=utcnow()),
        success=_("Finding added."),
        then=_to_finding,
        finding_form=form,
    )


def _changeable_finding(finding_id: int) -> PatrolFinding:
    return load_or_404(
        PatrolFinding,
        finding_id,
        lambda user, finding: (
            permissions.can_view_patrol_reports(user, finding.segment)
            and permissions.can_edit_patrol_report(user, finding.report)
        ),
        denied=403,
    )


@bp.route("/findings/<int:finding_id>/edit", methods=["GET", "POST"])
@login_required
def edit_finding(finding_id: int):
    """Change a finding not yet forwarded or resolved; add or remove its photos."""
    finding = _changeable_finding(finding_id)
    form = FindingForm()
    if request.method == "GET":
        form.fill_from(finding)
    return form_page(
        form,
        lambda: reports.update_finding(
            finding, form.finding_data(), _uploads(form.photos), by=acting_user(), now=utcnow()
        ),
        success=_("Finding saved."),
        then=lambda _saved: _to_finding(finding),
        raise_statuses=NOT_FOR_THE_FORM,
        template="patrols/finding_form.html",
        finding=finding,
        report=finding.report,
        segment=finding.segment,
        **_photo_settings(),
    )


@bp.post("/photos/<int:photo_id>/delete")
@login_required
def delete_photo(photo_id: int):
    """Remove a photo from a finding not yet forwarded or resolved."""
    photo = load_or_404(PatrolPhoto, photo_id)
    finding = _changeable_finding(photo.finding_id)
    run_action(
        lambda: reports.remove_photo(photo, by=acting_user(), now=utcnow()), success=_("Photo removed."), catch=()
    )
    return redirect(url_for("patrols.edit_finding", finding_id=finding.id))


@bp.get("/photos/<int:photo_id>")
@login_required
def show_photo(photo_id: int):
    """A finding's photo, only for those who may read the segment's reports."""
    photo = load_or_404(
        PatrolPhoto,
        photo_id,
        lambda user, found: permissions.can_view_patrol_reports(user, found.finding.segment),
        denied=403,
    )
    path = photos.photo_path(photo.stored_name)
    if not path.is_file():
        abort(404)
    response = send_file(
        io.BytesIO(path.read_bytes()), mimetype="image/jpeg", download_name=f"patrol-{photo.id}.jpg", max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _follow_up_finding(finding_id: int) -> PatrolFinding:
    return load_or_404(
        PatrolFinding,
        finding_id,
        lambda user, finding: (
            permissions.can_view_patrol_reports(user, finding.segment)
            and permissions.can_follow_up_findings(user, finding.segment)
        ),
        denied=403,
    )


#: the steps that follow an open finding up; the report page shows both forms, prefixed "<step>-<finding id>"
FOLLOW_UP_STEPS = {"forward": ForwardForm, "resolve": ResolveForm}


def _follow_up(finding_id: int, step: str, success: str, save):
    """One follow-up step of a finding: `save(finding, form)`; bad input shows the report with both forms (422)."""
    finding = _follow_up_finding(finding_id)
    forms = {
        name: form_class(prefix=f"{name}-{finding.id}", **({} if name == step else {"formdata": None}))
        for name, form_class in FOLLOW_UP_STEPS.items()
    }
    form = forms[step]
    return _save_on_report(
        finding.report,
        form,
        lambda: save(finding, form),
        success=success,
        then=lambda _saved: _to_finding(finding),
        follow_up={finding.id: tuple(forms.values())},
    )


@bp.post("/findings/<int:finding_id>/forward")
@login_required
def forward_finding(finding_id: int):
    """Forward a finding (to the town's river chief office, for instance), with a note."""
    return _follow_up(
        finding_id,
        "forward",
        _("Finding forwarded."),
        lambda finding, form: reports.forward_finding(
            finding, to=form.forwarded_to.data, note=form.note.data or "", by=acting_user(), now=utcnow()
        ),
    )


@bp.post("/findings/<int:finding_id>/resolve")
@login_required
def resolve_finding(finding_id: int):
    """Mark a finding resolved, saying how."""
    return _follow_up(
        finding_id,
        "resolve",
        _("Finding resolved."),
        lambda finding, form: reports.resolve_finding(finding, note=form.note.data, by=acting_user(), now=utcnow()),
    )


def _committee_organizations() -> list[Organization]:
    """Organizations the user may see the committee view of: every node of their staff subtrees."""
    paths = permissions.role_paths(current_user, permissions.STAFF_ROLES)
    return list(
        db.session.scalars(
            select(Organization).where(permissions.subtree_filter(Organization.path, paths)).order_by(Organization.path)
        )
    )


def _read_committee_form() -> tuple[CommitteeForm, Organization | None, tuple[date, date] | None]:
    """The committee form from the query string; the organization (permission checked) and period when valid."""
    form = CommitteeForm(formdata=request.args)
    organizations = _committee_organizations()
    form.organization.choices = [SelectChoice(o.id, "\u3000" * o.depth + o.name) for o in organizations]
    today = local_today()
    if "organization" not in request.args:
        form.organization.data = organizations[0].id if organizations else None
        form.month_from.data, form.month_to.data = f"{today.year:04d}-01", f"{today:%Y-%m}"
        return form, None, None
    organization = load_or_404(
        Organization,
        request.args.get("organization", type=query_int) or None,
        permissions.can_view_patrol_committee,
        denied=403,
    )
    if not form.validate():
        return form, None, None
    first, last = parse_month(form.month_from.data), parse_month(form.month_to.data)
    assert first is not None and last is not None  # the form's validators parsed both
    if first > last:
        form.month_to.errors = [_("The last month must not come before the first.")]
        return form, None, None
    if (last[0] - first[0]) * 12 + last[1] - first[1] >= committee.MAX_MONTHS:
        form.month_from.errors = [_("Choose at most %(max)s months.", max=committee.MAX_MONTHS)]
        return form, None, None
    return form, organization, committee.month_period(first, last)


@bp.get("/committee")
@login_required
@permissions.role_required()
def committee_view():
    """Per segment and month: patrols done against planned, verified patrol hours, findings by category and status."""
    form, organization, period = _read_committee_form()
    report = (
        committee.build_committee_report(organization, period=period)
        if organization is not None and period is not None  # both or neither
        else None
    )
    status = 422 if "organization" in request.args and report is None else 200
    return render_template(
        "patrols/committee.html", form=form, report=report, category_labels=CATEGORY_LABELS, status_labels=STATUS_LABELS
    ), status


@bp.get("/committee/export.xlsx")
@login_required
@permissions.role_required()
def export_committee():
    """The committee view as an .xlsx workbook."""
    form, organization, period = _read_committee_form()
    if organization is None or period is None:  # both or neither
        return render_template(
            "patrols/committee.html",
            form=form,
            report=None,
            category_labels=CATEGORY_LABELS,
            status_labels=STATUS_LABELS,
        ), 422
    report = committee.build_committee_report(organization, period=period)
    name = f"river-patrols-{organization.id}-{period[0]:%Y%m}-{period[1]:%Y%m}.xlsx"
    return Response(
        committee.write_committee_xlsx(report),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
