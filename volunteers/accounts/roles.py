"""Role administration: granting and revoking roles inside an administrator's subtree.

Services flush, never commit; the caller passes the acting user and `now`.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ScalarSelect, Select, SQLColumnExpression, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app import audit
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import Role, can_grant_role, forget_cached_grants, role_paths, subtree_filter
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization, RoleGrant


def role_grants(user_id: int) -> list[tuple[str, str]]:
    """(role, organization path) pairs the user holds: the `role_grants` fact of app/permissions.py."""
    rows = db.session.execute(
        select(RoleGrant.role, Organization.path)
        .join(Organization, Organization.id == RoleGrant.organization_id)
        .where(RoleGrant.user_id == user_id)
    ).all()
    return [(role, path) for role, path in rows]


def grants_column(user_id_column: SQLColumnExpression[int]) -> ScalarSelect[str]:
    """A scalar subquery of the user's grants as "role:path|role:path" (None without any), so that the query
    that loads a user can bring their grants along; `app.permissions.remember_grants` reads it into the
    request's cache."""
    return (
        select(func.aggregate_strings(RoleGrant.role + ":" + Organization.path, "|"))
        .join(Organization, Organization.id == RoleGrant.organization_id)
        .where(RoleGrant.user_id == user_id_column)
        .scalar_subquery()
    )


ROLE_LABELS = {
    Role.COORDINATOR.value: _l("Coordinator"),
    Role.REVIEWER.value: _l("Reviewer"),
    Role.ADMIN.value: _l("Administrator"),
}


def role_label(role: str) -> str:
    """The readable name of a role code."""
    return str(ROLE_LABELS.get(role, role))


def find_person(query: str) -> User | None:
    """The account whose mobile number or volunteer number is `query` (exact), else None."""
    value = (query or "").strip()
    if not value:
        return None
    if value.isdigit():
        return db.session.scalar(select(User).where(User.mobile == value))
    return db.session.scalar(select(User).where(User.volunteer_number == value.upper()))


def administered_paths(admin: User) -> list[str]:
    """Paths of the subtrees the user administers (outermost only)."""
    return role_paths(admin, Role.ADMIN.value)


def administered_organizations(admin: User) -> list[Organization]:
    """Every organization inside the user's administered subtrees, in tree order."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(subtree_filter(Organization.path, administered_paths(admin)))
            .order_by(Organization.path)
        )
    )


def grants_query(admin: User, *, organization: Organization | None = None, role: str | None = None) -> Select:
    """Grants held at organizations inside the administrator's subtree, optionally narrowed."""
    query = (
        select(RoleGrant)
        .join(Organization, Organization.id == RoleGrant.organization_id)
        .join(User, User.id == RoleGrant.user_id)
        .where(subtree_filter(Organization.path, administered_paths(admin)))
        .options(joinedload(RoleGrant.user), joinedload(RoleGrant.organization), joinedload(RoleGrant.granted_by))
        .order_by(Organization.path, RoleGrant.role, User.name, RoleGrant.id)
    )
    if organization is not None:
        query = query.where(Organization.path.startswith(organization.path, autoescape=True))
    if role:
        query = query.where(RoleGrant.role == role)
    return query


def _snapshot(grant: RoleGrant) -> dict:
    """What the audit trail keeps of a grant, readable after the grant is gone."""
    return {
        "user_id": grant.user_id,
        "user_name": grant.user.name,
        "volunteer_number": grant.user.volunteer_number,
        "role": grant.role,
        "organization_id": grant.organization_id,
        "organization": grant.organization.name,
    }


def grant_role(user: User, org: Organization, role: str, *, by: User, now: datetime) -> RoleGrant:
    """Grant `role` at `org` to `user`; only an administrator above `org` may, and never twice."""
    if role not in ROLE_LABELS:
        raise ValidationFailed(_("Choose a role from the list."), field="role", code="unknown_role")
    if not can_grant_role(by, org):
        raise PermissionDenied(
            _("You may only grant roles inside the organizations you administer."), code="outside_subtree"
        )
    held = db.session.scalars(
        select(RoleGrant)
        .options(joinedload(RoleGrant.organization))
        .where(RoleGrant.user_id == user.id, RoleGrant.role == role)
    ).all()
    for existing in held:
        if existing.organization_id == org.id:
            raise Conflict(
                _(
                    "%(name)s is already %(role)s at %(org)s.",
                    name=user.name,
                    role=role_label(role),
                    org=org.display_name,
                ),
                code="duplicate_grant",
                field="role",
            )
        if org.is_within(existing.organization):
            raise Conflict(
                _(
                    "%(name)s is already %(role)s at %(org)s, which includes this organization.",
                    name=user.name,
                    role=role_label(role),
                    org=existing.organization.display_name,
                ),
                code="covered_by_grant",
                field="role",
            )
    grant = RoleGrant(user_id=user.id, organization_id=org.id, role=role, granted_by_id=by.id, granted_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(grant)
            db.session.flush()
    except IntegrityError as exc:  # the same grant made by a concurrent request
        raise Conflict(
            _("%(name)s is already %(role)s at %(org)s.", name=user.name, role=role_label(role), org=org.display_name),
            code="duplicate_grant",
            field="role",
        ) from exc
    audit.record("role.grant", actor=by, now=now, target=grant, organization_id=org.id, after=_snapshot(grant))
    forget_cached_grants()
    return grant


def revoke_role(grant: RoleGrant, *, by: User, now: datetime) -> None:
    """Withdraw a grant; only an administrator above its organization may, and not their own admin role."""
    if not can_grant_role(by, grant.organization):
        raise PermissionDenied(
            _("You may only revoke roles inside the organizations you administer."), code="outside_subtree"
        )
    if grant.user_id == by.id and grant.role == Role.ADMIN.value:
        raise Conflict(
            _("You cannot revoke your own administrator role; ask another administrator."), code="own_admin_grant"
        )
    audit.record(
        "role.revoke", actor=by, now=now, target=grant, organization_id=grant.organization_id, before=_snapshot(grant)
    )
    db.session.delete(grant)
    db.session.flush()
    forget_cached_grants()
