"""What the events area keeps at an organization, for closing it (volunteers.organizations.services.Holding).

An organization that closes hands its open events (not cancelled, not over) to another, and a team its quotas
on positions still to come (merged with the receiving team's own quota of the same position). Past events stay
where they were held: the history does not change.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import ngettext
from sqlalchemy import ColumnElement, func, select, update

from app.extensions import db, rowcount
from events.models import Assignment, Event, EventStatus, Position, Shift, TeamQuota
from volunteers.organizations.models import Organization
from volunteers.organizations.services import Holding


def _open_events(org: Organization, now: datetime) -> ColumnElement[bool]:
    return (Event.organization_id == org.id) & (Event.status != EventStatus.CANCELLED.value) & (Event.ends_at > now)


def count_open_events(org: Organization, now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(Event).where(_open_events(org, now))) or 0


def move_open_events(org: Organization, target: Organization, now: datetime) -> int:
    result = db.session.execute(
        update(Event)
        .where(_open_events(org, now))
        .values(organization_id=target.id, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return rowcount(result)


def _coming_quotas(org: Organization, now: datetime):
    coming = select(Position.id).join(Event, Event.id == Position.event_id).where(Event.ends_at > now)
    return select(TeamQuota).where(TeamQuota.organization_id == org.id, TeamQuota.position_id.in_(coming))


def count_quotas(org: Organization, now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(_coming_quotas(org, now).subquery())) or 0


def move_quotas(org: Organization, target: Organization, now: datetime) -> int:
    """Each quota goes to `target`, added to the quota `target` already has on the same position."""
    moved = 0
    for quota in db.session.scalars(_coming_quotas(org, now)).all():
        theirs = db.session.scalar(
            select(TeamQuota).where(TeamQuota.position_id == quota.position_id, TeamQuota.organization_id == target.id)
        )
        if theirs is None:
            quota.organization_id = target.id
        else:
            theirs.quantity += quota.quantity
            db.session.delete(quota)
        db.session.execute(
            update(Assignment)
            .where(
                Assignment.quota_organization_id == org.id,
                Assignment.shift_id.in_(select(Shift.id).where(Shift.position_id == quota.position_id)),
            )
            .values(quota_organization_id=target.id)
            .execution_options(synchronize_session=False)
        )
        moved += 1
    db.session.flush()
    return moved


HOLDINGS = (
    Holding(
        "open_events",
        lambda n: ngettext("%(num)s open event", "%(num)s open events", n),
        count_open_events,
        move_open_events,
    ),
    Holding(
        "team_quotas",
        lambda n: ngettext("%(num)s team quota", "%(num)s team quotas", n),
        count_quotas,
        move_quotas,
    ),
)
