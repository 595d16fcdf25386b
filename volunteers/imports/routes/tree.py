"""Importing an organization tree (blueprint `admin`): upload, preview of every row's fate, confirm.

The preview writes nothing. Its confirm form carries the rows it read, signed with the secret key (so the
rows applied are the rows previewed, and nobody can slip others in), valid for an hour; applying plans again
against the tree as it is then, and writes all rows or none.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms import HiddenField
from wtforms.validators import DataRequired

from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import Role, role_required
from app.spreadsheets import XLSX_MIMETYPE
from app.timeutil import utcnow
from app.web.forms import show_refusal
from app.web.pages import acting_user
from volunteers.blueprint import admin_bp as bp
from volunteers.imports import tree

#: how long a preview may be confirmed
PREVIEW_VALID_SECONDS = 3600
_SALT = "organization-tree-import"


class TreeUploadForm(FlaskForm):
    file = FileField(_l("Excel file (.xlsx)"), validators=[FileRequired(_l("Choose the file to upload."))])


class TreeConfirmForm(FlaskForm):
    rows = HiddenField(validators=[DataRequired()])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _render(
    form: TreeUploadForm, plan: tree.TreePlan | None = None, confirm: TreeConfirmForm | None = None, status=200
):
    return render_template(
        "admin/tree_import.html", form=form, plan=plan, confirm=confirm, max_rows=tree.MAX_ROWS
    ), status


@bp.get("/organizations/import")
@login_required
@role_required(Role.ADMIN.value)
def import_tree():
    """The upload form."""
    return _render(TreeUploadForm())


@bp.post("/organizations/import")
@login_required
@role_required(Role.ADMIN.value)
def preview_tree():
    """Read the file and show every row's fate; nothing is written."""
    form = TreeUploadForm()
    if not form.validate_on_submit():
        return _render(form, status=422)
    try:
        rows = tree.read_rows(form.file.data.read())
    except ValidationFailed as exc:
        show_refusal(form, exc, field="file")
        return _render(form, status=422)
    plan = tree.plan_tree(rows, by=acting_user())
    db.session.rollback()  # the plan reads only; nothing of it may stay
    confirm = TreeConfirmForm(formdata=None)
    confirm.rows.data = _serializer().dumps(rows)
    return _render(TreeUploadForm(formdata=None), plan, confirm, status=422 if plan.has_errors else 200)


@bp.post("/organizations/import/confirm")
@login_required
@role_required(Role.ADMIN.value)
def confirm_tree():
    """Apply a previewed file: every row or none."""
    confirm = TreeConfirmForm()
    upload = TreeUploadForm(formdata=None)
    if not confirm.validate_on_submit():
        flash(_("The preview was not sent whole; upload the file again."), "error")
        return _render(upload, status=400)
    try:
        rows = _serializer().loads(confirm.rows.data, max_age=PREVIEW_VALID_SECONDS)
    except BadSignature:
        flash(_("This preview has expired or was changed; upload the file again."), "error")
        return _render(upload, status=400)
    try:
        plan = tree.apply_tree(rows, by=acting_user(), now=utcnow())
    except (ValidationFailed, PermissionDenied) as exc:
        db.session.rollback()
        plan = tree.plan_tree(rows, by=acting_user())
        db.session.rollback()
        flash(exc.message, "error")
        return _render(upload, plan, None, status=422)
    db.session.commit()
    if plan.changes:
        flash(
            _(
                "Imported: %(created)s organizations added, %(renamed)s renamed, %(unchanged)s unchanged.",
                created=plan.counts[tree.CREATE],
                renamed=plan.counts[tree.RENAME],
                unchanged=plan.counts[tree.UNCHANGED],
            ),
            "success",
        )
    else:
        flash(_("Every organization of the file is already in the tree as it says: nothing changed."), "info")
    return redirect(url_for("admin.list_organizations"))


@bp.get("/organizations/import/template.xlsx")
@login_required
@role_required(Role.ADMIN.value)
def tree_template():
    """The blank template with its explanations."""
    return send_file(
        tree.template_workbook(),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="organization-tree-template.xlsx",
    )
