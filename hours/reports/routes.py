"""Hours reports (/hours/reports/...) for staff, and a volunteer's own year by month (/hours/my-year.json)."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from app import permissions
from app.extensions import db
from app.timeutil import local_today
from app.web.inputs import query_int
from app.web.loading import load_or_404
from events.labels import KIND_LABELS
from hours.blueprint import bp
from hours.certificates.forms import ReportForm
from hours.reports import services as reports
from volunteers.organizations.models import Organization

MAX_REPORT_DAYS = 366 * 10


def _report_organizations() -> list[Organization]:
    """Organizations the user may report on: every node of their staff subtrees, in tree order."""
    paths = permissions.role_paths(current_user, permissions.STAFF_ROLES)
    return list(
        db.session.scalars(
            select(Organization).where(permissions.subtree_filter(Organization.path, paths)).order_by(Organization.path)
        )
    )


def _read_form() -> tuple[ReportForm, Organization | None, tuple[date, date] | None]:
    """The report form from the query string; the organization (permission checked) and period when valid."""
    form = ReportForm(formdata=request.args)
    organizations = _report_organizations()
    form.organization.choices = [SelectChoice(org.id, "\u3000" * org.depth + org.name) for org in organizations]
    today = local_today()
    if "organization" not in request.args:
        if organizations:
            form.organization.data = organizations[0].id
        form.period_start.data = date(today.year, 1, 1)
        form.period_end.data = today
        return form, None, None
    organization = load_or_404(
        Organization,
        request.args.get("organization", type=query_int) or None,
        permissions.can_view_hours_report,
        denied=403,
    )
    if not form.validate():
        return form, None, None
    start = form.period_start.data or date(today.year, 1, 1)
    end = form.period_end.data or today
    if start > end:
        form.period_end.errors = [_("The period must end on or after its first day.")]
        return form, None, None
    if (end - start).days > MAX_REPORT_DAYS:
        form.period_start.errors = [_("A report covers at most ten years.")]
        return form, None, None
    form.period_start.data, form.period_end.data = start, end
    return form, organization, (start, end)


@bp.get("/reports/")
@login_required
@permissions.role_required()
def hours_report():
    """Verified hours of a subtree and period: totals, by kind and brand, top volunteers, monthly chart."""
    form, organization, period = _read_form()
    report = None
    if organization is not None and period is not None:  # both or neither
        report = reports.build_report(organization, period=period, basis=form.basis.data)
    status = 422 if "organization" in request.args and report is None else 200
    return render_template("hours/report.html", form=form, report=report, kind_labels=KIND_LABELS), status


@bp.get("/reports/export.xlsx")
@login_required
@permissions.role_required()
def export_hours_report():
    """The same report as an .xlsx workbook."""
    form, organization, period = _read_form()
    if organization is None or period is None:  # both or neither
        abort(400)
    report = reports.build_report(organization, period=period, basis=form.basis.data)
    name = f"hours-report-{organization.id}-{period[0]:%Y%m%d}-{period[1]:%Y%m%d}.xlsx"
    return Response(
        reports.write_report(report, KIND_LABELS),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/my-year.json")
@login_required
def my_year_chart_data():
    """The logged-in volunteer's verified hours per month of a year, for the chart on the hours page."""
    year = request.args.get("year", type=query_int) or local_today().year
    if not 2000 <= year <= 2100:
        return jsonify(error={"code": "invalid_year", "message": _("Choose a year between 2000 and 2100.")}), 400
    minutes = reports.volunteer_year_by_month(current_user.id, year)
    return jsonify(
        type="bar",
        year=year,
        label=_("Verified hours"),
        labels=[f"{year}-{month:02d}" for month in range(1, 13)],
        values=[round(m / 60, 2) for m in minutes],
        total_hours=round(sum(minutes) / 60, 2),
    )
