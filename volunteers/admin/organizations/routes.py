"""The organization tree for administrators (blueprint `admin`): the tree, a node's page and its changes.

Every change goes through `volunteers.organizations.services`, which checks the administrator's subtree and
keeps the change in the organization's history (the audit trail, with the organization as its target).
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import Role, can_administer, role_required
from app.timeutil import utcnow
from app.web.forms import refusal_status, show_refusal, submit_form
from app.web.loading import load_or_404
from app.web.pages import acting_user
from volunteers.accounts import roles
from volunteers.accounts.models import User
from volunteers.admin import audit_trail
from volunteers.admin.organizations.forms import ChildForm, CloseForm, MoveForm, RenameForm
from volunteers.blueprint import admin_bp as bp
from volunteers.organizations import services
from volunteers.organizations.models import Organization

REFUSALS = (ValidationFailed, Conflict, PermissionDenied)


def _administered(*, include_closed: bool = False) -> list[Organization]:
    orgs = roles.administered_organizations(acting_user())
    return orgs if include_closed else [o for o in orgs if not o.is_closed]


def _label(org: Organization, by_id: dict[int, Organization]) -> str:
    """ "南城街道 › 第一团支部": the parent's name helps tell equal names apart."""
    parent = by_id.get(org.parent_id) if org.parent_id else None
    return f"{parent.display_name} › {org.display_name}" if parent is not None else org.display_name


def _choices(orgs: list[Organization], keep) -> list[tuple[int, str]]:
    by_id = {o.id: o for o in orgs}
    return [(o.id, _label(o, by_id)) for o in orgs if keep(o)]


def _forms(org: Organization, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The node's forms; only the one that was sent (`data`'s prefix) reads the request."""
    sent = request.form if request.method == "POST" else None
    which = (data or {}).get("sent")
    open_orgs = _administered()
    child = ChildForm(prefix="child", formdata=sent if which == "child" else None)
    child.kind.choices = [(k, services.kind_label(k)) for k in sorted(services.ALLOWED_CHILDREN[org.kind])]
    rename = RenameForm(prefix="rename", formdata=sent if which == "rename" else None, obj=org)
    move = MoveForm(prefix="move", formdata=sent if which == "move" else None)
    move.parent_id.choices = _choices(
        open_orgs,
        lambda o: not o.is_within(org) and o.id != org.parent_id and org.kind in services.ALLOWED_CHILDREN[o.kind],
    )
    close = CloseForm(prefix="close", formdata=sent if which == "close" else None)
    close.move_to.choices = [
        (None, _("Nowhere: it holds nothing")),
        *_choices(open_orgs, lambda o: not o.is_within(org)),
    ]
    return {"child_form": child, "rename_form": rename, "move_form": move, "close_form": close}


def _render_node(org: Organization, forms: dict[str, Any], status: int = 200):
    now = utcnow()
    members = db.session.scalar(select(func.count()).select_from(User).where(User.organization_id == org.id)) or 0
    entries = services.history(org)
    return render_template(
        "admin/organization.html",
        org=org,
        ancestors=_ancestors(org),
        children=list(
            db.session.scalars(select(Organization).where(Organization.parent_id == org.id).order_by(Organization.id))
        ),
        members=members,
        holdings=services.holdings(org, now) if not org.is_closed else [],
        history=audit_trail.describe(entries),
        kind_label=services.kind_label,
        can_change=can_administer(acting_user(), org) and not org.is_closed,
        **forms,
    ), status


def _ancestors(org: Organization) -> list[Organization]:
    ids = [int(part) for part in org.path.strip("/").split("/")[:-1] if part]
    if not ids:
        return []
    found = {o.id: o for o in db.session.scalars(select(Organization).where(Organization.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _load(org_id: int) -> Organization:
    return load_or_404(Organization, org_id, can_administer, denied=403)


@bp.get("/organizations")
@login_required
@role_required(Role.ADMIN.value)
def list_organizations():
    """The organizations the administrator looks after, as a tree, with their members."""
    show_closed = request.args.get("closed") == "1"
    orgs = _administered(include_closed=show_closed)
    counts: dict[int, int] = {}
    if orgs:
        rows = db.session.execute(
            select(User.organization_id, func.count())
            .where(User.organization_id.in_([o.id for o in orgs]))
            .group_by(User.organization_id)
        ).tuples()
        counts = dict(rows.all())
    top = min((o.depth for o in orgs), default=0)
    return render_template(
        "admin/organizations.html",
        orgs=orgs,
        counts=counts,
        top=top,
        show_closed=show_closed,
        kind_label=services.kind_label,
    )


@bp.get("/organizations/<int:org_id>")
@login_required
@role_required(Role.ADMIN.value)
def show_organization(org_id: int):
    """One organization: its place in the tree, what it holds, its history and the changes an admin may make."""
    org = _load(org_id)
    return _render_node(org, _forms(org))


def _change(org: Organization, which: str, save, success):
    forms = _forms(org, {"sent": which})
    form = forms[f"{which}_form"]
    done = submit_form(
        form,
        save(form),
        success=success,
        then=lambda result: redirect(url_for("admin.show_organization", org_id=_landing(org, result))),
        catch=REFUSALS,
        show=lambda exc: show_refusal(form, exc),
        status_of=refusal_status,
    )
    if done.saved:
        return done.response
    return _render_node(org, forms, done.status)


def _landing(org: Organization, result: object) -> int:
    return result.id if isinstance(result, Organization) else org.id


@bp.post("/organizations/<int:org_id>/children")
@login_required
@role_required(Role.ADMIN.value)
def create_child(org_id: int):
    """Add an organization below this one."""
    org = _load(org_id)
    return _change(
        org,
        "child",
        lambda form: (
            lambda: services.create_organization(
                form.name.data,
                form.kind.data,
                org,
                short_name=form.short_name.data or "",
                code=form.code.data,
                by=acting_user(),
                now=utcnow(),
            )
        ),
        lambda child: _("%(name)s was added under %(parent)s.", name=child.display_name, parent=org.display_name),
    )


@bp.post("/organizations/<int:org_id>/rename")
@login_required
@role_required(Role.ADMIN.value)
def rename_organization(org_id: int):
    """Change the name, short name or code."""
    org = _load(org_id)
    return _change(
        org,
        "rename",
        lambda form: (
            lambda: services.rename_organization(
                org,
                name=form.name.data,
                short_name=form.short_name.data or "",
                code=form.code.data,
                by=acting_user(),
                now=utcnow(),
            )
        ),
        _("Saved."),
    )


@bp.post("/organizations/<int:org_id>/move")
@login_required
@role_required(Role.ADMIN.value)
def move_organization(org_id: int):
    """Put the organization and its subtree under another parent."""
    org = _load(org_id)

    def save(form):
        def move():
            parent = db.session.get(Organization, form.parent_id.data)
            if parent is None:
                raise ValidationFailed(_("Choose the new parent from the list."), field="parent_id")
            return services.move_organization(org, parent, by=acting_user(), now=utcnow())

        return move

    return _change(
        org,
        "move",
        save,
        lambda moved: _(
            "%(name)s now lies under %(parent)s.", name=moved.display_name, parent=moved.parent.display_name
        ),
    )


@bp.post("/organizations/<int:org_id>/close")
@login_required
@role_required(Role.ADMIN.value)
def close_organization(org_id: int):
    """Close the organization; what it holds moves in the same step."""
    org = _load(org_id)

    def save(form):
        def close():
            target = db.session.get(Organization, form.move_to.data) if form.move_to.data else None
            return services.close_organization(
                org, move_to=target, reason=form.reason.data, by=acting_user(), now=utcnow()
            )

        return close

    return _change(org, "close", save, _("%(name)s is closed.", name=org.display_name))
