"""Administration pages (filled in by the roles and import work)."""
from flask import render_template
from flask_login import login_required

from app.models import Role
from app.permissions import role_required
from volunteers.admin import bp


@bp.get("/")
@login_required
@role_required(Role.ADMIN.value)
def index():
    """The administrator's start page."""
    return render_template("admin/index.html")
