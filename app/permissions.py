"""Every permission decision in one place; views, services and the API all ask here.

A role granted at an organization holds for its whole subtree (Organization.path
prefixes). Functions read as sentences: `can_manage(user, org)`.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, g, has_request_context
from flask_login import current_user
from sqlalchemy import false, or_, select

from app.extensions import db
from app.models import Organization, Role, RoleGrant, User


def _grants(user) -> list[tuple[str, str]]:
    """(role, organization path) pairs held by the user, cached for the request."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    cache = g.setdefault("_role_grants", {}) if has_request_context() else {}
    if user.id not in cache:
        rows = db.session.execute(
            select(RoleGrant.role, Organization.path)
            .join(Organization, Organization.id == RoleGrant.organization_id)
            .where(RoleGrant.user_id == user.id)
        ).all()
        cache[user.id] = [(role, path) for role, path in rows]
    return cache[user.id]


def forget_cached_grants() -> None:
    """Drop the per-request cache after roles change."""
    if has_request_context():
        g.pop("_role_grants", None)


def has_role(user, roles: set[str] | str, org: Organization | None) -> bool:
    """True when the user holds one of `roles` at `org` or at one of its ancestors."""
    if org is None:
        return False
    wanted = {roles} if isinstance(roles, str) else set(roles)
    return any(role in wanted and org.path.startswith(path) for role, path in _grants(user))


def has_any_role(user, roles: set[str] | str | None = None) -> bool:
    """True when the user holds one of `roles` anywhere (any role when None)."""
    wanted = None if roles is None else ({roles} if isinstance(roles, str) else set(roles))
    return any(wanted is None or role in wanted for role, _ in _grants(user))


def role_paths(user, roles: set[str] | str) -> list[str]:
    """Paths of the subtrees where the user holds one of `roles` (outermost only)."""
    wanted = {roles} if isinstance(roles, str) else set(roles)
    paths = sorted({path for role, path in _grants(user) if role in wanted}, key=len)
    outer: list[str] = []
    for path in paths:
        if not any(path.startswith(o) for o in outer):
            outer.append(path)
    return outer


def subtree_filter(column_path, paths: list[str]):
    """SQL condition: the organization path column lies under one of `paths`."""
    if not paths:
        return false()
    return or_(*[column_path.startswith(p, autoescape=True) for p in paths])


MANAGER_ROLES = {Role.COORDINATOR.value, Role.ADMIN.value}
REVIEWER_ROLES = {Role.REVIEWER.value, Role.ADMIN.value}
STAFF_ROLES = {Role.COORDINATOR.value, Role.REVIEWER.value, Role.ADMIN.value}


def can_manage(user, org: Organization | None) -> bool:
    """Coordinate events and volunteers of `org` (coordinator or administrator above it)."""
    return has_role(user, MANAGER_ROLES, org)


def can_review(user, org: Organization | None) -> bool:
    """Verify hours and eligibility for `org` (reviewer or administrator above it)."""
    return has_role(user, REVIEWER_ROLES, org)


def can_administer(user, org: Organization | None) -> bool:
    """Grant roles, import volunteers and see ID numbers under `org`."""
    return has_role(user, Role.ADMIN.value, org)


def can_view_volunteer(user, volunteer: User) -> bool:
    """A volunteer sees their own record; staff see volunteers affiliated under their subtree."""
    if user is None or not user.is_authenticated:
        return False
    return user.id == volunteer.id or has_role(user, STAFF_ROLES, volunteer.organization)


def can_edit_volunteer(user, volunteer: User) -> bool:
    """The volunteer edits their own profile; an administrator above their affiliation may too."""
    if user is None or not user.is_authenticated:
        return False
    return user.id == volunteer.id or can_administer(user, volunteer.organization)


def can_reveal_id_number(user, volunteer: User) -> bool:
    """Only the owner and administrators above the affiliation see the whole ID number."""
    return can_edit_volunteer(user, volunteer)


def can_grant_role(user, org: Organization | None) -> bool:
    """Administrators grant and revoke roles inside their own subtree."""
    return can_administer(user, org)


def role_required(*roles: str):
    """Route decorator: 403 unless the user holds one of `roles` somewhere.

    The view must still check the object's organization with a `can_*` function.
    """
    wanted = set(roles) or STAFF_ROLES

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from app.extensions import login_manager
                return login_manager.unauthorized()
            if not has_any_role(current_user, wanted):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator
