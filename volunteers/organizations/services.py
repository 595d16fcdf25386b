"""The organization tree: creating nodes and querying subtrees."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.errors import ValidationFailed
from app.extensions import db
from volunteers.organizations.models import Organization, OrgKind

# Which kinds may sit below which (docs/domain.md: city → town/university/enterprise → branch/team).
ALLOWED_CHILDREN = {
    OrgKind.CITY.value: {OrgKind.TOWN.value, OrgKind.UNIVERSITY.value, OrgKind.ENTERPRISE.value},
    OrgKind.TOWN.value: {OrgKind.BRANCH.value, OrgKind.TEAM.value},
    OrgKind.UNIVERSITY.value: {OrgKind.BRANCH.value, OrgKind.TEAM.value},
    OrgKind.ENTERPRISE.value: {OrgKind.BRANCH.value, OrgKind.TEAM.value},
    OrgKind.BRANCH.value: {OrgKind.TEAM.value},
    OrgKind.TEAM.value: set(),
}


def create_organization(
    name: str, kind: str, parent: Organization | None, *, short_name: str = "", now: datetime | None = None
) -> Organization:
    """Add a node below `parent` (None only for the city committee) and set its path."""
    if parent is None and kind != OrgKind.CITY.value:
        raise ValidationFailed("Only the city committee may be the root.", field="parent_id")
    if parent is not None and kind not in ALLOWED_CHILDREN[parent.kind]:
        raise ValidationFailed(f"A {kind} cannot be placed under a {parent.kind}.", field="kind")
    org = Organization(name=name, short_name=short_name, kind=kind, parent=parent)
    if now is not None:
        org.created_at = now
    db.session.add(org)
    db.session.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    db.session.flush()
    return org


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
