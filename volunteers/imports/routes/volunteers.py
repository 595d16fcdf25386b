"""Bulk import pages (blueprint `admin`): upload, template download, results and progress."""

from __future__ import annotations

import io

from flask import abort, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.validators import DataRequired

from app.errors import ValidationFailed
from app.extensions import db
from app.permissions import Role, can_administer, role_required
from app.timeutil import utcnow
from app.web.forms import form_page, show_refusal
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from volunteers.accounts import roles, services
from volunteers.blueprint import admin_bp as bp
from volunteers.imports import importer
from volunteers.imports import jobs as import_tasks
from volunteers.imports import messages as import_messages
from volunteers.imports.models import ImportJob
from volunteers.organizations.models import Organization

PER_PAGE = 20
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(FlaskForm):
    """Upload of a filled-in import template."""

    organization_id = SelectField(_l("Import into"), coerce=int, validators=[DataRequired()])
    file = FileField(_l("Excel file (.xlsx)"), validators=[FileRequired(_l("Choose the file to upload."))])


def _import_form() -> ImportForm:
    form = ImportForm()
    allowed = {org.id for org in roles.administered_organizations(acting_user())}
    form.organization_id.choices = [
        (org_id, label) for org_id, label in services.organization_choices() if org_id in allowed
    ]
    return form


def _load_job(job_id: int) -> ImportJob:
    return load_or_404(ImportJob, job_id, lambda user, job: can_administer(user, job.organization), denied=403)


def _render_index(form: ImportForm, status: int = 200):
    jobs = db.paginate(
        importer.jobs_visible_to(acting_user()),
        page=request.args.get("page", 1, type=query_int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "admin/import.html", form=form, jobs=jobs, now=utcnow(), max_rows=current_app.config["IMPORT_MAX_ROWS"]
    ), status


@bp.get("/import")
@login_required
@role_required(Role.ADMIN.value)
def import_volunteers():
    """The upload form, the template download and the past imports of the administrator's subtree."""
    return _render_index(_import_form())


@bp.post("/import")
@login_required
@role_required(Role.ADMIN.value)
def start_import():
    """Accept an upload, record the job, run it (in the background unless configured otherwise)."""
    scope = db.session.get(Organization, request.form.get("organization_id", type=query_int) or 0)
    if scope is not None and not can_administer(acting_user(), scope):
        abort(403)
    form = _import_form()

    def create():
        upload = form.file.data
        data = upload.read()
        now = utcnow()
        assert scope is not None  # the form validated: its organization is one of the choices
        job = importer.create_job(by=acting_user(), scope=scope, file_name=upload.filename or "", data=data, now=now)
        return job, data, now

    def run(created):
        job, data, now = created
        import_tasks.start_import(current_app._get_current_object(), job.id, data, now=now)  # type: ignore[attr-defined]  # current_app is a LocalProxy; Flask types it as the Flask app it stands for
        return redirect(url_for("admin.import_result", job_id=job.id))

    return form_page(
        form,
        create,
        success=None,
        then=run,
        catch=ValidationFailed,
        show=lambda exc: show_refusal(form, exc, field="file"),  # every problem of the file is the file's
        render=lambda status: _render_index(form, status),
    )


@bp.get("/import/template")
@login_required
@role_required(Role.ADMIN.value)
def download_import_template():
    """The .xlsx template with its column names, an example row and notes."""
    organizations = roles.administered_organizations(acting_user())
    example = organizations[-1].name if organizations else ""
    data = importer.build_template(example)
    return send_file(
        io.BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name="volunteer-import-template.xlsx"
    )


@bp.get("/import/<int:job_id>")
@login_required
@role_required(Role.ADMIN.value)
def import_result(job_id: int):
    """Counts, progress and every rejected row of one import."""
    job = _load_job(job_id)
    now = utcnow()
    failure = None
    if job.status == "failed" or job.is_interrupted(now):
        failure = import_messages.describe_failure(job.failure_code or "interrupted", job.failure_detail)
    running = not job.is_finished and not job.is_interrupted(now)
    return render_template(
        "admin/import_result.html",
        job=job,
        now=now,
        failure=failure,
        running=running,
        rejected=import_messages.describe_rejections(job.rejected_rows),
    )


@bp.get("/import/<int:job_id>/progress")
@login_required
@role_required(Role.ADMIN.value)
def import_progress(job_id: int):
    """The job's counts as JSON, polled by static/js/import.js until it is done."""
    job = _load_job(job_id)
    now = utcnow()
    interrupted = job.is_interrupted(now)
    return jsonify(
        status="failed" if interrupted else job.status,
        done=job.is_finished or interrupted,
        rows_total=job.rows_total,
        rows_processed=job.rows_processed,
        rows_imported=job.rows_imported,
        rows_skipped=job.rows_skipped,
        rows_rejected=job.rows_rejected,
        percent=job.percent(now),
    )
