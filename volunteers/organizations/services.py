"""The organization tree: creating, renaming, moving and closing nodes, and querying subtrees.

Every change an administrator makes is audited (`organization.create`, `.rename`, `.move`, `.close`) with the
organization as its target: those entries are the organization's history (`history`).

Closing an organization needs what it holds (its members, its open events, ...) moved elsewhere first, or in the
same step. This package sits at the bottom of the areas, so it knows none of those records: each area that keeps
records at an organization registers a `Holding` (`register_holding`) that counts and moves them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.audit import AuditLog
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_administer, forget_cached_grants
from volunteers.organizations.models import Organization, OrgKind, RoleGrant

if TYPE_CHECKING:
    from volunteers.accounts.models import User

# Which kinds may sit below which (docs/domain.md: city → town/university/enterprise → branch/team).
ALLOWED_CHILDREN = {
    OrgKind.CITY.value: {OrgKind.TOWN.value, OrgKind.UNIVERSITY.value, OrgKind.ENTERPRISE.value},
    OrgKind.TOWN.value: {OrgKind.BRANCH.value, OrgKind.TEAM.value},
    OrgKind.UNIVERSITY.value: {OrgKind.BRANCH.value, OrgKind.TEAM.value},
    OrgKind.ENTERPRISE.value: {OrgKind.BRANCH.value, OrgKind.TEAM.value},
    OrgKind.BRANCH.value: {OrgKind.TEAM.value},
    OrgKind.TEAM.value: set(),
}

KIND_LABELS = {
    OrgKind.CITY.value: _l("City committee"),
    OrgKind.TOWN.value: _l("Town committee"),
    OrgKind.UNIVERSITY.value: _l("University committee"),
    OrgKind.ENTERPRISE.value: _l("Enterprise committee"),
    OrgKind.BRANCH.value: _l("League branch"),
    OrgKind.TEAM.value: _l("Volunteer team"),
}

#: the league's organization codes: letters, digits and hyphens
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
MAX_NAME = 120
MAX_SHORT_NAME = 60


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


@dataclass(frozen=True)
class Holding:
    """Records an area keeps at an organization, which must go elsewhere before it closes."""

    name: str
    #: "3 members" for a count, in the reader's language
    describe: Callable[[int], str]
    #: how many the organization holds now
    count: Callable[[Organization, datetime], int]
    #: move them from the first organization to the second; answers how many moved
    move: Callable[[Organization, Organization, datetime], int]


HOLDINGS: dict[str, Holding] = {}


def register_holding(holding: Holding) -> None:
    """An area's records at an organization (idempotent by name)."""
    HOLDINGS[holding.name] = holding


def check_names(name: str, short_name: str, code: str | None) -> tuple[str, str, str | None]:
    name, short_name = (name or "").strip(), (short_name or "").strip()
    code = (code or "").strip() or None
    if not name:
        raise ValidationFailed(_("Enter the organization's name."), field="name", code="name_missing")
    if len(name) > MAX_NAME:
        raise ValidationFailed(
            _("The name is at most %(num)s characters.", num=MAX_NAME), field="name", code="name_too_long"
        )
    if len(short_name) > MAX_SHORT_NAME:
        raise ValidationFailed(
            _("The short name is at most %(num)s characters.", num=MAX_SHORT_NAME),
            field="short_name",
            code="short_name_too_long",
        )
    if code is not None and not CODE_PATTERN.match(code):
        raise ValidationFailed(_("The code has 1 to 40 letters, digits or hyphens."), field="code", code="code_invalid")
    return name, short_name, code


def _check_code_free(code: str | None, org: Organization | None = None) -> None:
    if code is None:
        return
    holder = db.session.scalar(select(Organization).where(Organization.code == code))
    if holder is not None and holder is not org:
        raise ValidationFailed(
            _("The code %(code)s already belongs to %(name)s.", code=code, name=holder.name),
            field="code",
            code="code_taken",
        )


def _check_name_free(name: str, parent: Organization | None, org: Organization | None = None) -> None:
    if parent is None:
        return
    sibling = db.session.scalar(
        select(Organization).where(Organization.parent_id == parent.id, Organization.name == name)
    )
    if sibling is not None and sibling is not org:
        raise ValidationFailed(
            _("%(parent)s already has an organization named %(name)s.", parent=parent.display_name, name=name),
            field="name",
            code="name_taken",
        )


def _check_kind(kind: str, parent: Organization | None, *, field: str = "kind") -> None:
    if kind not in ALLOWED_CHILDREN:
        raise ValidationFailed(_("Choose a kind of organization from the list."), field="kind", code="kind_unknown")
    if parent is None and kind != OrgKind.CITY.value:
        raise ValidationFailed(_("Only the city committee may be the root."), field="parent_id", code="not_root")
    if parent is not None and kind not in ALLOWED_CHILDREN[parent.kind]:
        raise ValidationFailed(
            _(
                "A %(kind)s cannot be placed under a %(parent_kind)s.",
                kind=kind_label(kind),
                parent_kind=kind_label(parent.kind),
            ),
            field=field,
            code="kind_not_allowed",
        )


def snapshot(org: Organization) -> dict:
    """What the history keeps of an organization before and after a change."""
    return {
        "name": org.name,
        "short_name": org.short_name,
        "kind": org.kind,
        "code": org.code,
        "parent_id": org.parent_id,
        "path": org.path,
    }


def create_organization(
    name: str,
    kind: str,
    parent: Organization | None,
    *,
    short_name: str = "",
    code: str | None = None,
    now: datetime | None = None,
    by: User | None = None,
) -> Organization:
    """Add a node below `parent` (None only for the city committee) and set its path. The one root is made by
    `flask accounts create-admin` on an empty tree (and the demo loader); the pages always give a parent.

    With `by`, an administrator's change: checked against their subtree and kept in the history."""
    name, short_name, code = check_names(name, short_name, code)
    if by is not None and (parent is None or not can_administer(by, parent)):
        raise PermissionDenied(_("You may only add organizations inside the subtree you administer."))
    if parent is not None and parent.is_closed:
        raise ValidationFailed(_("%(name)s is closed.", name=parent.display_name), field="parent_id", code="closed")
    _check_kind(kind, parent)
    _check_name_free(name, parent)
    _check_code_free(code)
    org = Organization(name=name, short_name=short_name, kind=kind, parent_id=parent.id if parent else None, code=code)
    if now is not None:
        org.created_at = now
    try:
        with db.session.begin_nested():
            db.session.add(org)
            db.session.flush()
    except IntegrityError as exc:  # a concurrent change took the name or the code
        raise Conflict(_("Another change took this name or code just now; try again."), code="taken") from exc
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    db.session.flush()
    if by is not None and now is not None:
        audit.record("organization.create", actor=by, now=now, target=org, organization_id=org.id, after=snapshot(org))
    return org


def _require_admin(by: User, org: Organization) -> None:
    if not can_administer(by, org):
        raise PermissionDenied(_("You may only change organizations inside the subtree you administer."))


def _require_open(org: Organization) -> None:
    if org.is_closed:
        raise ValidationFailed(_("%(name)s is closed.", name=org.display_name), code="closed")


def rename_organization(
    org: Organization, *, name: str, short_name: str, code: str | None, by: User, now: datetime
) -> Organization:
    """Change the name, short name or code; the old ones stay in the history."""
    _require_admin(by, org)
    _require_open(org)
    name, short_name, code = check_names(name, short_name, code)
    _check_name_free(name, org.parent, org)
    _check_code_free(code, org)
    before = snapshot(org)
    org.name, org.short_name, org.code = name, short_name, code
    after = snapshot(org)
    if before != after:
        db.session.flush()
        audit.record(
            "organization.rename",
            actor=by,
            now=now,
            target=org,
            organization_id=org.id,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return org


def move_organization(org: Organization, new_parent: Organization, *, by: User, now: datetime) -> Organization:
    """Put `org` and everything below it under `new_parent`; refused into its own subtree."""
    _require_admin(by, org)
    if org.parent_id is None:
        raise ValidationFailed(_("The city committee is the root; it cannot be moved."), code="root")
    _require_open(org)
    if not can_administer(by, new_parent):
        raise PermissionDenied(_("You may only move organizations inside the subtree you administer."))
    if new_parent.is_within(org):
        raise ValidationFailed(
            _("An organization cannot be moved into its own subtree."), field="parent_id", code="own_subtree"
        )
    if new_parent.is_closed:
        raise ValidationFailed(_("%(name)s is closed.", name=new_parent.display_name), field="parent_id", code="closed")
    if new_parent.id == org.parent_id:
        raise ValidationFailed(
            _("%(name)s is already under %(parent)s.", name=org.display_name, parent=new_parent.display_name),
            field="parent_id",
            code="same_parent",
        )
    _check_kind(org.kind, new_parent, field="parent_id")
    _check_name_free(org.name, new_parent, org)
    below = db.session.scalars(
        select(Organization.kind).where(Organization.parent_id == org.id, Organization.closed_at.is_(None))
    )
    assert all(kind in ALLOWED_CHILDREN[org.kind] for kind in below)  # the kind does not change: its children fit
    before = snapshot(org)
    old_path, new_path = org.path, f"{new_parent.path}{org.id}/"
    db.session.execute(
        update(Organization)
        .where(Organization.path.startswith(old_path, autoescape=True))
        .values(path=literal(new_path).concat(func.substr(Organization.path, len(old_path) + 1)))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Organization)
        .where(Organization.id == org.id)
        .values(parent_id=new_parent.id)
        .execution_options(synchronize_session=False)
    )
    for loaded in [o for o in db.session.identity_map.values() if isinstance(o, Organization)]:
        db.session.expire(loaded, ["path", "parent_id", "parent", "children"])
    forget_cached_grants()  # the grants' paths moved with their organizations
    audit.record(
        "organization.move",
        actor=by,
        now=now,
        target=org,
        organization_id=org.id,
        before={"parent_id": before["parent_id"], "path": before["path"]},
        after={"parent_id": new_parent.id, "path": new_path},
    )
    return org


@dataclass(frozen=True)
class Held:
    """What an organization holds of one kind, for the close form."""

    name: str
    count: int
    text: str


def holdings(org: Organization, now: datetime) -> list[Held]:
    """What must move before `org` can close (only the kinds it holds any of)."""
    found = []
    for holding in HOLDINGS.values():
        count = holding.count(org, now)
        if count:
            found.append(Held(holding.name, count, holding.describe(count)))
    return found


def open_children(org: Organization) -> list[Organization]:
    return list(
        db.session.scalars(
            select(Organization)
            .where(Organization.parent_id == org.id, Organization.closed_at.is_(None))
            .order_by(Organization.name)
        )
    )


def close_organization(
    org: Organization, *, move_to: Organization | None, reason: str, by: User, now: datetime
) -> dict[str, int]:
    """Close `org`. What it holds (members, open events, ...) goes to `move_to` in the same step, or the close is
    refused while it holds any. Its sub-organizations must be moved or closed first. Roles held at it end.

    Answers how many of each kind moved (and "roles" ended)."""
    _require_admin(by, org)
    if org.parent_id is None:
        raise ValidationFailed(_("The city committee is the root; it cannot be closed."), code="root")
    _require_open(org)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the organization closes."), field="reason", code="reason_missing")
    children = open_children(org)
    if children:
        raise ValidationFailed(
            _(
                "%(name)s still has %(num)s sub-organizations: move or close them first.",
                name=org.display_name,
                num=len(children),
            ),
            code="has_children",
        )
    held = holdings(org, now)
    if held and move_to is None:
        raise ValidationFailed(
            _("Choose where %(what)s go before it closes.", what="、".join(h.text for h in held)),
            field="move_to",
            code="holds_records",
        )
    moved: dict[str, int] = {}
    if held:
        assert move_to is not None  # refused above without one
        if move_to.is_within(org) or move_to.is_closed:
            raise ValidationFailed(
                _("Choose an open organization outside the one that closes."), field="move_to", code="move_to_invalid"
            )
        if not can_administer(by, move_to):
            raise PermissionDenied(_("You may only move records to organizations inside the subtree you administer."))
        for item in held:
            moved[item.name] = HOLDINGS[item.name].move(org, move_to, now)
    grants = list(db.session.scalars(select(RoleGrant).where(RoleGrant.organization_id == org.id)))
    for grant in grants:
        audit.record(
            "role.revoke",
            actor=by,
            now=now,
            target=grant,
            organization_id=org.id,
            before={
                "user_id": grant.user_id,
                "user_name": grant.user.name,
                "volunteer_number": grant.user.volunteer_number,
                "role": grant.role,
                "organization_id": org.id,
                "organization": org.name,
            },
            note=_("The organization closed."),
        )
        db.session.delete(grant)
    moved["roles"] = len(grants)
    org.closed_at = now
    db.session.flush()
    forget_cached_grants()
    audit.record(
        "organization.close",
        actor=by,
        now=now,
        target=org,
        organization_id=org.id,
        after={"move_to_id": move_to.id if move_to is not None else None, "moved": moved},
        note=reason,
    )
    return moved


def history(org: Organization, *, limit: int = 100) -> list[AuditLog]:
    """The organization's changes, newest first: what, who, when, before and after."""
    return list(
        db.session.scalars(
            select(AuditLog)
            .where(AuditLog.target_type == "Organization", AuditLog.target_id == org.id)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
    )


def subtree(org: Organization) -> list[Organization]:
    """The organization and everything below it, in tree order."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(Organization.path.startswith(org.path, autoescape=True))
            .order_by(Organization.path)
        )
    )


def root() -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.parent_id.is_(None)))
