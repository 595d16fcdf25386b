"""The account directory (/admin/people): reviewers and administrators list and export the people of their
subtrees; administrators disable and re-enable accounts (blueprint `admin`)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import (
    REVIEWER_ROLES,
    Role,
    can_administer,
    can_disable_account,
    can_list_people_of,
    can_view_directory,
    role_required,
)
from app.spreadsheets import XLSX_MIMETYPE
from app.timeutil import utcnow
from app.web.forms import form_page, refusal_status
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from volunteers.accounts import services as accounts
from volunteers.accounts.models import User
from volunteers.accounts.roles import role_label
from volunteers.admin.directory import disabling, export, search
from volunteers.admin.directory.forms import AccountStatusForm, PeopleFilterForm
from volunteers.blueprint import admin_bp as bp
from volunteers.organizations.models import Organization


@bp.app_context_processor
def inject_waiting_accounts():
    """`waiting_accounts_count()` for the navigation: imported accounts waiting for activation (one COUNT, only
    when called for a reviewer or administrator)."""

    def waiting_accounts_count() -> int:
        if not current_user.is_authenticated or not can_view_directory(current_user):
            return 0
        if "_waiting_accounts" not in g:
            g._waiting_accounts = search.not_activated_count(current_user)
        return g._waiting_accounts

    return {"waiting_accounts_count": waiting_accounts_count}


def _organization_choices() -> list[tuple[int, str]]:
    allowed = {org.id for org in search.organizations_in_reach(acting_user())}
    return [(org_id, label) for org_id, label in accounts.organization_choices() if org_id in allowed]


def _filters() -> tuple[PeopleFilterForm, search.PeopleCriteria | None]:
    """The filter form of this request and its criteria (None when a filter is wrong). An organization outside the
    viewer's subtrees is refused with 403."""
    wanted = request.args.get("organization", 0, type=query_int)
    if wanted:
        organization = db.session.get(Organization, wanted)
        if organization is not None and not can_list_people_of(current_user, organization):
            abort(403)
    form = PeopleFilterForm(request.args, organization_choices=_organization_choices())
    if not form.validate():
        return form, None
    return form, search.PeopleCriteria(
        name=form.name.data or "",
        mobile_tail=form.mobile_tail.data or "",
        organization=db.session.get(Organization, form.organization.data) if form.organization.data else None,
        role=form.role.data or "",
        status=form.status.data or "",
        political_status=form.political_status.data or "",
    )


def _url_with(endpoint: str, **changes: Any) -> str:
    """The URL of `endpoint` with this request's filters (and `changes`)."""
    args: dict[str, Any] = {key: value for key, value in request.args.to_dict().items() if key != "page"}
    args.update(changes)
    return url_for(endpoint, **args)


def _render_people(form: PeopleFilterForm, criteria: search.PeopleCriteria | None):
    people = None  # a wrong filter: the form again, nobody listed
    if criteria is not None:
        people = db.paginate(
            search.people_query(acting_user(), criteria),
            page=request.args.get("page", 1, type=query_int),
            per_page=search.PER_PAGE,
            error_out=False,
        )
    items = list(people.items) if people is not None else []
    return render_template(
        "admin/people.html",
        filters=form,
        people=people,
        items=items,
        valid=criteria is not None,
        roles_of=search.roles_of([person.id for person in items]),
        role_label=role_label,
        status_of=search.status_of,
        status_label=search.status_label,
        mask_mobile=search.mask_mobile,
        page_url=lambda page: _url_with("admin.list_people", page=page),
        export_url=_url_with("admin.export_people"),
    ), (200 if criteria is not None else 422)


@bp.get("/people")
@login_required
@role_required(*REVIEWER_ROLES)
def list_people():
    """The people of the viewer's subtrees: search, filters, 50 a page, a count of results."""
    return _render_people(*_filters())


@bp.get("/people.xlsx")
@login_required
@role_required(*REVIEWER_ROLES)
def export_people():
    """The filtered directory as an Excel file (ID numbers and mobiles masked)."""
    form, criteria = _filters()
    if criteria is None:
        return _render_people(form, criteria)
    data = export.write_people(acting_user(), criteria)
    size = data.seek(0, 2)
    data.seek(0)
    name = f"people-{utcnow():%Y%m%d}.xlsx"
    return Response(
        export.file_chunks(data),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(size)},
    )


def _managed_person(user_id: int) -> User:
    """The person, if the administrator's subtree holds their affiliation (403 otherwise, 404 when missing)."""
    return load_or_404(User, user_id, lambda user, person: can_administer(user, person.organization), denied=403)


def _account_page(person: User, form: AccountStatusForm, status: int = 200):
    return render_template(
        "admin/account_status.html",
        person=person,
        form=form,
        own=person.id == current_user.id,
        may_change=can_disable_account(current_user, person),
        history=disabling.status_history(person),
        status_label=search.status_label(search.status_of(person)),
    ), status


@bp.get("/people/<int:user_id>/account")
@login_required
@role_required(Role.ADMIN.value)
def account_status(user_id: int):
    """An account's status and its disable / enable history, with the form to change it."""
    return _account_page(_managed_person(user_id), AccountStatusForm(formdata=None))


def _change_status(user_id: int, change, success: str):
    person = _managed_person(user_id)
    form = AccountStatusForm()
    return form_page(
        form,
        lambda: change(person, form.reason.data or "", by=acting_user(), now=utcnow()),
        success=success % {"name": person.name},
        then=lambda changed: redirect(url_for("volunteers.show_volunteer", user_id=changed.id)),
        catch=(ValidationFailed, Conflict, PermissionDenied),
        status_of=refusal_status,
        render=lambda status: _account_page(person, form, status),
    )


@bp.post("/people/<int:user_id>/disable")
@login_required
@role_required(Role.ADMIN.value)
def disable_account(user_id: int):
    """Disable an account with a reason: sessions and API tokens stop on their next request."""
    return _change_status(
        user_id, disabling.disable_account, _("The account of %(name)s is disabled; their sessions have ended.")
    )


@bp.post("/people/<int:user_id>/enable")
@login_required
@role_required(Role.ADMIN.value)
def enable_account(user_id: int):
    """Re-enable a disabled account with a reason."""
    return _change_status(user_id, disabling.enable_account, _("The account of %(name)s is enabled again."))
