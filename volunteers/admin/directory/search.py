"""Finding people in the directory: the subtrees a reviewer or administrator sees, searches and filters.

Everyone listed is affiliated with an organization inside the viewer's subtrees (app.permissions.directory_paths).
A mobile number is searched by its last four digits only and shown masked (138****5678): the whole number stays on
the profile page, one person at a time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, exists, func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.permissions import Person, directory_paths, subtree_filter
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization, RoleGrant

PER_PAGE = 50
#: the role filter's choice for people without any role
NO_ROLE = "none"


class AccountStatus(str, enum.Enum):
    """Where an account stands."""

    ACTIVE = "active"
    DISABLED = "disabled"
    #: imported, waiting for the volunteer to activate it (no password yet)
    NOT_ACTIVATED = "not_activated"
    #: registered online, the texted code not entered yet (the volunteer's own step, nothing for staff to do)
    AWAITING_CODE = "awaiting_code"


STATUS_LABELS = {
    AccountStatus.ACTIVE.value: _l("Active"),
    AccountStatus.DISABLED.value: _l("Disabled"),
    AccountStatus.NOT_ACTIVATED.value: _l("Not activated"),
    AccountStatus.AWAITING_CODE.value: _l("Mobile number not confirmed yet"),
}


def status_of(user: User) -> str:
    """The AccountStatus code of an account."""
    if user.is_disabled:
        return AccountStatus.DISABLED.value
    if user.password_hash is None:
        return AccountStatus.NOT_ACTIVATED.value
    if user.awaiting_mobile_code:
        return AccountStatus.AWAITING_CODE.value
    return AccountStatus.ACTIVE.value


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


def mask_mobile(mobile: str) -> str:
    """138****5678: the first three and last four digits."""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else "****"


@dataclass
class PeopleCriteria:
    """What the directory is narrowed to; empty values narrow nothing."""

    name: str = ""
    #: the last four digits of the mobile number
    mobile_tail: str = ""
    #: people affiliated with this organization or one below it
    organization: Organization | None = None
    #: a role code, or NO_ROLE
    role: str = ""
    #: an AccountStatus code
    status: str = ""
    political_status: str = ""


def _status_condition(status: str) -> ColumnElement[bool] | None:
    if status == AccountStatus.DISABLED.value:
        return User.is_disabled.is_(True)
    if status == AccountStatus.NOT_ACTIVATED.value:
        return and_(User.is_disabled.is_(False), User.password_hash.is_(None))
    if status == AccountStatus.AWAITING_CODE.value:
        return and_(User.is_disabled.is_(False), User.password_hash.is_not(None), User.awaiting_mobile_code.is_(True))
    if status == AccountStatus.ACTIVE.value:
        return and_(User.is_disabled.is_(False), User.password_hash.is_not(None), User.awaiting_mobile_code.is_(False))
    return None


def _conditions(viewer: Person, criteria: PeopleCriteria) -> list[ColumnElement[bool]]:
    """The WHERE of the directory: the viewer's subtrees, then each criterion given."""
    conditions = [subtree_filter(Organization.path, directory_paths(viewer))]
    if criteria.name.strip():
        conditions.append(User.name.icontains(criteria.name.strip(), autoescape=True))
    if criteria.mobile_tail:
        conditions.append(User.mobile.endswith(criteria.mobile_tail, autoescape=True))
    if criteria.organization is not None:
        conditions.append(Organization.path.startswith(criteria.organization.path, autoescape=True))
    if criteria.role == NO_ROLE:
        conditions.append(~exists().where(RoleGrant.user_id == User.id))
    elif criteria.role:
        conditions.append(exists().where(RoleGrant.user_id == User.id, RoleGrant.role == criteria.role))
    status = _status_condition(criteria.status)
    if status is not None:
        conditions.append(status)
    if criteria.political_status:
        conditions.append(User.political_status == criteria.political_status)
    return conditions


def people_query(viewer: Person, criteria: PeopleCriteria) -> Select:
    """People the viewer may list, narrowed by `criteria`, by organization then name (for db.paginate)."""
    return (
        select(User)
        .join(Organization, Organization.id == User.organization_id)
        .where(*_conditions(viewer, criteria))
        .options(joinedload(User.organization))
        .order_by(Organization.path, User.name, User.id)
    )


def export_query(viewer: Person, criteria: PeopleCriteria, *columns) -> Select:
    """The same people as plain columns (no ORM objects), in the same order, for a streamed export."""
    return (
        select(*columns)
        .select_from(User)
        .join(Organization, Organization.id == User.organization_id)
        .where(*_conditions(viewer, criteria))
        .order_by(Organization.path, User.name, User.id)
    )


def roles_of(user_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(role, organization name) pairs of each of these people, in one query."""
    held: dict[int, list[tuple[str, str]]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return held
    rows = db.session.execute(
        select(RoleGrant.user_id, RoleGrant.role, Organization.name)
        .join(Organization, Organization.id == RoleGrant.organization_id)
        .where(RoleGrant.user_id.in_(user_ids))
        .order_by(RoleGrant.user_id, Organization.path, RoleGrant.role)
    )
    for user_id, role, organization in rows:
        held[user_id].append((role, organization))
    return held


def organizations_in_reach(viewer: Person) -> list[Organization]:
    """The organizations whose people the viewer lists, in tree order (the organization picker's choices)."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(subtree_filter(Organization.path, directory_paths(viewer)))
            .order_by(Organization.path)
        )
    )


def not_activated_count(viewer: Person) -> int:
    """How many imported accounts of the viewer's subtrees wait for activation (one COUNT)."""
    criteria = PeopleCriteria(status=AccountStatus.NOT_ACTIVATED.value)
    return (
        db.session.scalar(
            select(func.count(User.id))
            .join(Organization, Organization.id == User.organization_id)
            .where(*_conditions(viewer, criteria))
        )
        or 0
    )
