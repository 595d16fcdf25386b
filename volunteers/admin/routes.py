"""Administration pages: the start page, role grants and the audit trail (blueprint `admin`)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.permissions import Role, can_grant_role, role_required
from app.timeutil import utcnow
from app.web.forms import form_page, refusal_status, run_action, show_refusal
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from volunteers.accounts import roles, services
from volunteers.accounts.forms import AuditFilterForm, RoleFilterForm, RoleGrantForm
from volunteers.admin import audit_trail
from volunteers.blueprint import admin_bp as bp
from volunteers.organizations.models import Organization, RoleGrant

PER_PAGE = 50


def _page_url(page: int) -> str:
    """The current page's URL with its filters and another page number."""
    args: dict[str, Any] = request.args.to_dict()
    args["page"] = page
    assert request.endpoint is not None  # a page of a routed request
    return url_for(request.endpoint, **args)


def _organization_choices() -> list[tuple[int, str]]:
    allowed = {org.id for org in roles.administered_organizations(acting_user())}
    return [(org_id, label) for org_id, label in services.organization_choices() if org_id in allowed]


def _role_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in roles.ROLE_LABELS.items()]


def _grant_form(organization_choices) -> RoleGrantForm:
    form = RoleGrantForm()
    form.organization_id.choices = organization_choices
    form.role.choices = _role_choices()
    return form


def _render_roles(form: RoleGrantForm, organization_choices, status: int = 200):
    filters = RoleFilterForm(request.args)
    filters.organization.choices = [(0, _("All organizations")), *organization_choices]
    filters.role_name.choices = [("", _("All roles")), *_role_choices()]
    organization, role = None, None
    if filters.validate():
        organization = db.session.get(Organization, filters.organization.data) if filters.organization.data else None
        role = filters.role_name.data or None
    elif status == 200:
        status = 422
    grants = db.paginate(
        roles.grants_query(acting_user(), organization=organization, role=role),
        page=request.args.get("page", 1, type=query_int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "admin/roles.html", form=form, filters=filters, grants=grants, role_label=roles.role_label, page_url=_page_url
    ), status


@bp.get("/")
@login_required
@role_required(Role.ADMIN.value)
def index():
    """The administrator's start page."""
    return render_template("admin/index.html")


@bp.get("/roles")
@login_required
@role_required(Role.ADMIN.value)
def list_roles():
    """Role grants inside the administrator's subtree, with the form to grant another."""
    choices = _organization_choices()
    return _render_roles(_grant_form(choices), choices)


@bp.post("/roles")
@login_required
@role_required(Role.ADMIN.value)
def grant_role():
    """Grant a role to a person at an organization inside the administrator's subtree."""
    choices = _organization_choices()
    form = _grant_form(choices)
    organization = db.session.get(Organization, request.form.get("organization_id", 0, type=query_int))
    if organization is not None and not can_grant_role(current_user, organization):
        abort(403)

    def grant():
        person = roles.find_person(form.person.data)
        if person is None:
            raise ValidationFailed(
                _("No account has this mobile or volunteer number."), code="unknown_person", field="person"
            )
        assert organization is not None  # the form validated: its organization is one of the choices
        return roles.grant_role(person, organization, form.role.data, by=acting_user(), now=utcnow())

    return form_page(
        form,
        grant,
        success=lambda granted: _(
            "%(name)s is now %(role)s at %(org)s.",
            name=granted.user.name,
            role=roles.role_label(granted.role),
            org=granted.organization.display_name,
        ),
        then=lambda _granted: redirect(url_for("admin.list_roles")),
        catch=(ValidationFailed, Conflict),
        show=lambda exc: show_refusal(form, exc, field="role"),
        status_of=refusal_status,
        render=lambda status: _render_roles(form, choices, status),
    )


@bp.post("/roles/<int:grant_id>/revoke")
@login_required
@role_required(Role.ADMIN.value)
def revoke_role(grant_id: int):
    """Withdraw a role grant inside the administrator's subtree."""
    grant = load_or_404(RoleGrant, grant_id, lambda user, found: can_grant_role(user, found.organization), denied=403)
    name, role, org = grant.user.name, roles.role_label(grant.role), grant.organization.display_name
    run_action(
        lambda: roles.revoke_role(grant, by=acting_user(), now=utcnow()),
        success=_("%(name)s is no longer %(role)s at %(org)s.", name=name, role=role, org=org),
        catch=(),
    )
    return redirect(url_for("admin.list_roles"))


@bp.get("/audit")
@login_required
@role_required(Role.ADMIN.value)
def audit_log():
    """The audit trail of the organizations in the administrator's subtree, newest first."""
    admin = acting_user()
    filters = AuditFilterForm(request.args)
    filters.action.choices = [("", _("All actions")), *audit_trail.action_choices(admin)]
    criteria, status = {}, 200
    if filters.validate():
        criteria = {
            "action": filters.action.data or None,
            "actor_mobile": filters.actor_mobile.data or None,
            "date_from": filters.date_from.data,
            "date_to": filters.date_to.data,
        }
    else:
        status = 422
    entries = db.paginate(
        audit_trail.entries_query(admin, **criteria),
        page=request.args.get("page", 1, type=query_int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "admin/audit.html",
        filters=filters,
        entries=entries,
        rows=audit_trail.describe(list(entries.items)),
        page_url=_page_url,
    ), status
