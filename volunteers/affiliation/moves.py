"""Staff moves in bulk within an administrator's subtree, and the graduates' hand-over (学社衔接).

A bulk move is applied at once: each person gets an approved `staff_move` row (the history), in the caller's one
transaction, or nobody moves. A hand-over makes pending `graduation` rows that the receiving organization's staff
accept or refuse in the same queue as the volunteers' own requests (volunteers/affiliation/services.py).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, insert, select, update
from sqlalchemy.orm import joinedload

from app import audit
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_hand_over_graduates, can_move_volunteers
from volunteers.accounts.models import User
from volunteers.affiliation.models import AffiliationChange, ChangeKind, ChangeStatus
from volunteers.affiliation.services import add_pending, move_volunteer, snapshot, target_organization
from volunteers.affiliation.signals import affiliation_decided
from volunteers.organizations.models import Organization

#: at most this many people listed (and moved) at once
LIST_LIMIT = 200
NOTE_LENGTH = 500
#: the note of the history rows a closed organization's members get (stored text, as staff would write it)
CLOSED_NOTE = "原组织撤销，随成员一并转入"


def people_query(organization: Organization, *, name: str = "") -> Select:
    """Volunteers affiliated in the organization's subtree, by name, optionally narrowed by a part of the name."""
    query = (
        select(User)
        .join(Organization, Organization.id == User.organization_id)
        .where(Organization.path.startswith(organization.path, autoescape=True))
        .options(joinedload(User.organization))
        .order_by(User.name, User.id)
        .limit(LIST_LIMIT)
    )
    if name.strip():
        query = query.where(User.name.contains(name.strip(), autoescape=True))
    return query


def pending_of(volunteer_ids: list[int]) -> dict[int, AffiliationChange]:
    """The pending change of each of these volunteers that has one."""
    if not volunteer_ids:
        return {}
    rows = db.session.scalars(
        select(AffiliationChange)
        .where(
            AffiliationChange.volunteer_id.in_(volunteer_ids),
            AffiliationChange.status == ChangeStatus.PENDING.value,
        )
        .options(joinedload(AffiliationChange.to_organization))
    )
    return {change.volunteer_id: change for change in rows}


def _chosen(volunteer_ids: list[int]) -> list[User]:
    ids = sorted({int(i) for i in volunteer_ids})
    if not ids:
        raise ValidationFailed(_("Choose at least one person."), field="volunteer_ids", code="nobody_chosen")
    if len(ids) > LIST_LIMIT:
        raise ValidationFailed(
            _("Choose at most %(n)s people at once.", n=LIST_LIMIT), field="volunteer_ids", code="too_many"
        )
    people = list(
        db.session.scalars(
            select(User).where(User.id.in_(ids)).options(joinedload(User.organization)).order_by(User.name, User.id)
        )
    )
    if len(people) != len(ids):
        raise ValidationFailed(_("Choose people from the list."), field="volunteer_ids", code="unknown_person")
    return people


def _refuse_pending(people: list[User]) -> None:
    waiting = pending_of([person.id for person in people])
    if waiting:
        names = "、".join(person.name for person in people if person.id in waiting)
        raise Conflict(
            _(
                "These people already have a pending change of affiliation (decide or withdraw it first): %(names)s.",
                names=names,
            ),
            code="pending_change",
            field="volunteer_ids",
        )


def move_volunteers(
    volunteer_ids: list[int], to_organization_id: int | None, *, by: User, now: datetime, note: str = ""
) -> list[AffiliationChange]:
    """Move people affiliated inside the administrator's subtree to an organization inside it; all or nobody.

    People already there are left alone; each one moved gets an approved `staff_move` row.
    """
    target = target_organization(to_organization_id, field="to_organization_id")
    if not can_move_volunteers(by, target):
        raise PermissionDenied(
            _("You may only move people to organizations you administer."),
            code="outside_subtree",
            field="to_organization_id",
        )
    people = _chosen(volunteer_ids)
    if any(not can_move_volunteers(by, person.organization) for person in people):
        raise PermissionDenied(
            _("You may only move people affiliated inside the organizations you administer."),
            code="outside_subtree",
            field="volunteer_ids",
        )
    _refuse_pending(people)
    note = (note or "").strip()[:NOTE_LENGTH]
    changes = []
    for person in people:
        if person.organization_id == target.id:
            continue
        from_id = person.organization_id
        change = AffiliationChange(
            volunteer=person,
            from_organization_id=from_id,
            to_organization=target,
            kind=ChangeKind.STAFF_MOVE.value,
            status=ChangeStatus.APPROVED.value,
            requested_by_id=by.id,
            reason=note,
            decided_by_id=by.id,
            decided_at=now,
            created_at=now,
        )
        db.session.add(change)
        move_volunteer(person, from_id, target.id, now=now)
        changes.append(change)
    if not changes:
        raise ValidationFailed(
            _("Everyone chosen already belongs to %(org)s.", org=target.display_name),
            field="to_organization_id",
            code="same_organization",
        )
    db.session.flush()
    for change in changes:
        audit.record(
            "affiliation.staff_move",
            actor=by,
            now=now,
            target=change,
            organization_id=target.id,
            after=snapshot(change, note=note),
        )
        affiliation_decided.send(change, now=now)
    return changes


def hand_over_graduates(
    university: Organization,
    volunteer_ids: list[int],
    to_organization_id: int | None,
    *,
    by: User,
    now: datetime,
    note: str = "",
) -> list[AffiliationChange]:
    """The university hands its graduating volunteers over to an organization outside it; the receiving side decides."""
    if not can_hand_over_graduates(by, university):
        raise PermissionDenied(
            _("Only administrators of a university committee hand its graduates over."), code="not_university_admin"
        )
    target = target_organization(to_organization_id, field="to_organization_id")
    if target.is_within(university):
        raise ValidationFailed(
            _(
                "Graduates are handed over to an organization outside %(university)s.",
                university=university.display_name,
            ),
            field="to_organization_id",
            code="inside_university",
        )
    people = _chosen(volunteer_ids)
    if any(not person.organization.is_within(university) for person in people):
        raise PermissionDenied(
            _("Only volunteers affiliated with %(university)s can be handed over.", university=university.display_name),
            code="outside_university",
            field="volunteer_ids",
        )
    _refuse_pending(people)
    note = (note or "").strip()[:NOTE_LENGTH]
    changes = []
    for person in people:
        change = add_pending(
            AffiliationChange(
                volunteer=person,
                from_organization_id=person.organization_id,
                to_organization=target,
                kind=ChangeKind.GRADUATION.value,
                status=ChangeStatus.PENDING.value,
                requested_by_id=by.id,
                reason=note,
                created_at=now,
            )
        )
        audit.record(
            "affiliation.hand_over",
            actor=by,
            now=now,
            target=change,
            organization_id=university.id,
            after=snapshot(change, note=note),
        )
        changes.append(change)
    return changes


def move_members_of_closed(org: Organization, target: Organization, now: datetime) -> int:
    """Everybody affiliated with `org`, which closes, goes to `target` (a `Holding` of the organization tree):
    each gets an approved `staff_move` row, so the old affiliation stays in their history."""
    member_ids = list(db.session.scalars(select(User.id).where(User.organization_id == org.id)))
    if not member_ids:
        return 0
    db.session.execute(
        insert(AffiliationChange),
        [
            {
                "volunteer_id": member_id,
                "from_organization_id": org.id,
                "to_organization_id": target.id,
                "kind": ChangeKind.STAFF_MOVE.value,
                "status": ChangeStatus.APPROVED.value,
                "reason": CLOSED_NOTE,
                "decided_at": now,
                "created_at": now,
            }
            for member_id in member_ids
        ],
    )
    db.session.execute(
        update(User)
        .where(User.organization_id == org.id)
        .values(organization_id=target.id, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return len(member_ids)
