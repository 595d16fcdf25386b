"""Team quotas: organization X provides N volunteers for position Y, in each of its shifts.

The event's coordinators set, change and remove quotas and watch each team's fill;
the team's own coordinators fill their quota from their own members through the
sign-up rules (events.signup.services.assign with source="team").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import joinedload

from app import audit
from app.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_fill_quota, can_manage, can_manage_event
from events.models import LIVE_STATUSES, Assignment, AssignmentStatus, Event, Position, Shift, TeamQuota
from events.signup import services as signup
from events.staffing.services import Refusal, _like, refusal_for
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

MEMBER_PAGE_SIZE = 30


def event_quotas(event: Event) -> list[TeamQuota]:
    """Every quota of the event with its position and organization, by position then team."""
    return list(
        db.session.scalars(
            select(TeamQuota)
            .join(Position, Position.id == TeamQuota.position_id)
            .options(joinedload(TeamQuota.position), joinedload(TeamQuota.organization))
            .where(Position.event_id == event.id)
            .order_by(Position.id, TeamQuota.organization_id)
        )
    )


def _snapshot(quota: TeamQuota) -> dict:
    return {"position_id": quota.position_id, "organization_id": quota.organization_id, "quantity": quota.quantity}


def set_quota(
    event: Event, *, position_id: int, organization_id: int, quantity: int, by: User, now: datetime
) -> TeamQuota:
    """Create or change the quota of a team for a position of the event."""
    if not can_manage_event(by, event):
        raise PermissionDenied(_("Only the event's coordinators may set team quotas."))
    position = db.session.get(Position, position_id)
    if position is None or position.event_id != event.id:
        raise ValidationFailed(_("Choose a position of this event."), field="position_id", code="bad_position")
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise ValidationFailed(
            _("Choose an organization from the list."), field="organization_id", code="bad_organization"
        )
    if quantity is None or quantity < 1:
        raise ValidationFailed(_("A quota is at least one volunteer."), field="quantity", code="bad_quantity")
    largest = db.session.scalar(
        select(func.max(Shift.capacity)).where(Shift.position_id == position.id, Shift.is_cancelled.is_(False))
    )
    others = (
        db.session.scalar(
            select(func.coalesce(func.sum(TeamQuota.quantity), 0)).where(
                TeamQuota.position_id == position.id, TeamQuota.organization_id != organization.id
            )
        )
        or 0
    )
    if largest is not None and others + quantity > largest:
        raise ValidationFailed(
            _(
                "The quotas of this position would total %(total)s, more than its largest shift (%(places)s places).",
                total=others + quantity,
                places=largest,
            ),
            field="quantity",
            code="quota_above_headcount",
        )
    quota = db.session.scalar(
        select(TeamQuota).where(TeamQuota.position_id == position.id, TeamQuota.organization_id == organization.id)
    )
    before = _snapshot(quota) if quota is not None else None
    if quota is None:
        quota = TeamQuota(position_id=position.id, organization_id=organization.id, quantity=quantity)
        db.session.add(quota)
    else:
        quota.quantity = quantity
    db.session.flush()
    audit.record(
        "quota.set",
        actor=by,
        now=now,
        target=quota,
        organization_id=event.organization_id,
        before=before,
        after=_snapshot(quota),
    )
    return quota


def remove_quota(quota: TeamQuota, *, by: User, now: datetime) -> None:
    """Remove a team's quota; volunteers it already placed stay on their shifts."""
    event = quota.position.event
    if not can_manage_event(by, event):
        raise PermissionDenied(_("Only the event's coordinators may remove team quotas."))
    before = _snapshot(quota)
    audit.record("quota.remove", actor=by, now=now, target=quota, organization_id=event.organization_id, before=before)
    db.session.delete(quota)
    db.session.flush()


def fill_counts(event: Event) -> dict[tuple[int, int], tuple[int, int]]:
    """(shift id, team id) → (assigned, waitlisted) of quota placements in the event, in one query."""
    rows = db.session.execute(
        select(
            Assignment.shift_id,
            Assignment.quota_organization_id,
            func.sum(case((Assignment.status == AssignmentStatus.ASSIGNED.value, 1), else_=0)),
            func.sum(case((Assignment.status == AssignmentStatus.WAITLISTED.value, 1), else_=0)),
        )
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(
            Shift.event_id == event.id,
            Assignment.quota_organization_id.is_not(None),
            Assignment.status.in_(LIVE_STATUSES),
        )
        .group_by(Assignment.shift_id, Assignment.quota_organization_id)
    ).all()
    return {(sid, oid): (int(a or 0), int(w or 0)) for sid, oid, a, w in rows}


@dataclass
class ShiftFill:
    """A team's fill of one shift: assigned (and waitlisted) against its quota."""

    shift: Shift
    quota: int
    filled: int
    waitlisted: int

    @property
    def remaining(self) -> int:
        return max(self.quota - self.filled, 0)

    @property
    def coverage(self) -> str:
        from events.staffing.services import coverage_class

        return coverage_class(self.filled, self.quota)


@dataclass
class QuotaFill:
    """A quota with its fill per shift of the position."""

    quota: TeamQuota
    shifts: list[ShiftFill] = field(default_factory=list)

    @property
    def filled(self) -> int:
        return sum(s.filled for s in self.shifts)

    @property
    def needed(self) -> int:
        return self.quota.quantity * len(self.shifts)


def quota_fills(event: Event, quotas: list[TeamQuota]) -> list[QuotaFill]:
    """Each quota with its team's fill in every (not cancelled) shift of its position."""
    if not quotas:
        return []
    counts = fill_counts(event)
    position_ids = {q.position_id for q in quotas}
    shifts: dict[int, list[Shift]] = defaultdict(list)
    for shift in db.session.scalars(
        select(Shift)
        .where(Shift.position_id.in_(position_ids), Shift.is_cancelled.is_(False))
        .order_by(Shift.starts_at, Shift.id)
    ):
        shifts[shift.position_id].append(shift)
    fills = []
    for quota in quotas:
        row = QuotaFill(quota)
        for shift in shifts[quota.position_id]:
            assigned, waiting = counts.get((shift.id, quota.organization_id), (0, 0))
            row.shifts.append(ShiftFill(shift, quota.quantity, assigned, waiting))
        fills.append(row)
    return fills


def quotas_for_team_coordinator(event: Event, by: User) -> list[TeamQuota]:
    """The event's quotas whose team `by` coordinates."""
    return [q for q in event_quotas(event) if can_manage(by, q.organization)]


def team_members(team: Organization, *, text: str = "", page: int = 1, per_page: int = MEMBER_PAGE_SIZE) -> Pagination:
    """Active volunteers affiliated under the team, matched by name, mobile or number; one page."""
    stmt = (
        select(User)
        .join(Organization, Organization.id == User.organization_id)
        .where(Organization.path.startswith(team.path, autoescape=True), User.is_disabled.is_(False))
        .options(joinedload(User.organization))
        .order_by(User.name, User.id)
    )
    text = (text or "").strip()
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            User.name.ilike(pattern, escape="\\")
            | User.mobile.like(pattern, escape="\\")
            | User.volunteer_number.ilike(pattern, escape="\\")
        )
    return db.paginate(stmt, page=max(page, 1), per_page=per_page, error_out=False)


@dataclass
class FillOutcome:
    """What filling a quota did."""

    assigned: list[Assignment] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def _lock_quota(quota: TeamQuota) -> None:
    # A no-op guarded UPDATE takes the quota's row lock (PostgreSQL) or the write lock (SQLite),
    # so two coordinators of the team filling at once are counted one after the other.
    db.session.execute(update(TeamQuota).where(TeamQuota.id == quota.id).values(quantity=TeamQuota.quantity))


def fill_quota(quota: TeamQuota, shift: Shift, volunteer_ids: list[int], *, by: User, now: datetime) -> FillOutcome:
    """Put team members on a shift of the quota's position, never beyond the team's quota."""
    team = quota.organization
    if not can_fill_quota(by, quota.position, team):
        raise PermissionDenied(_("Only the team's coordinators may fill its quota."))
    if shift.position_id != quota.position_id or shift.is_cancelled:
        raise ValidationFailed(_("Choose a shift of the quota's position."), field="shift_id", code="bad_shift")
    ids = list(dict.fromkeys(volunteer_ids))
    if not ids:
        raise ValidationFailed(_("Select at least one volunteer."), field="volunteer_ids", code="none_selected")
    members = list(
        db.session.scalars(
            select(User)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id.in_(ids), Organization.path.startswith(team.path, autoescape=True))
        )
    )
    if len(members) != len(ids):
        raise ValidationFailed(
            _("Only members of %(team)s can fill its quota.", team=team.display_name),
            field="volunteer_ids",
            code="not_a_member",
        )
    _lock_quota(quota)
    placed = db.session.execute(
        select(func.count(Assignment.id)).where(
            Assignment.shift_id == shift.id,
            Assignment.quota_organization_id == team.id,
            Assignment.status == AssignmentStatus.ASSIGNED.value,
        )
    ).scalar_one()
    remaining = quota.quantity - placed
    if len(members) > remaining:
        raise Conflict(
            _(
                "%(team)s provides %(quota)s volunteers for this shift; %(remaining)s places of the quota remain.",
                team=team.display_name,
                quota=quota.quantity,
                remaining=max(remaining, 0),
            ),
            code="quota_exceeded",
        )
    order = {uid: i for i, uid in enumerate(ids)}
    outcome = FillOutcome()
    for member in sorted(members, key=lambda u: order[u.id]):
        try:
            with db.session.begin_nested():
                outcome.assigned.append(
                    signup.assign(shift, member, by=by, now=now, quota_organization=team, source="team")
                )
        except DomainError as refused:  # a sign-up rule, or the quota filled meanwhile
            outcome.refused.append(refusal_for(shift, member, refused, now=now))
    return outcome


def team_assignments(shift: Shift, team: Organization) -> list[Assignment]:
    """The team's live placements on a shift, with their volunteers."""
    return list(
        db.session.scalars(
            select(Assignment)
            .options(joinedload(Assignment.user))
            .where(
                Assignment.shift_id == shift.id,
                Assignment.quota_organization_id == team.id,
                Assignment.status.in_(LIVE_STATUSES),
            )
            .order_by(Assignment.created_at, Assignment.id)
        )
    )


def team_has_quota(position_id: int, team_id: int) -> bool:
    """True when `team` provides volunteers for the position: the `team_has_quota` fact of app/permissions.py."""
    quota = select(TeamQuota.id).where(TeamQuota.position_id == position_id, TeamQuota.organization_id == team_id)
    return db.session.scalar(quota) is not None
