"""Read-side queries for the event pages: the event list, an event page, a coordinator's events, my shifts.

Each page loads in a fixed, small number of queries whatever the size of the event
(an expo of 40 positions × 600 shifts included): counts come from grouped queries or
the denormalized `shifts.assigned_count`, never from a query per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from app.extensions import db
from app.permissions import MANAGER_ROLES, role_paths, subtree_filter
from app.timeutil import LOCAL_TZ, to_local
from events.models import (
    LIVE_STATUSES,
    Assignment,
    AssignmentStatus,
    CredentialType,
    Event,
    EventStatus,
    Position,
    Shift,
    position_skills,
)
from volunteers.accounts.models import Skill, User
from volunteers.organizations.models import Organization, OrgKind

PER_PAGE = 20


def local_day_start(day: date) -> datetime:
    """Midnight of a local (Asia/Shanghai) day, as an aware datetime."""
    return datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ)


@dataclass
class EventFilters:
    """What a volunteer narrows the event list by."""

    date_from: date | None = None
    date_to: date | None = None
    town_id: int | None = None
    kind: str | None = None
    skill_id: int | None = None


def town_choices() -> list[Organization]:
    """Towns, streets and parks (镇街/园区) that organize events, by name."""
    return list(
        db.session.scalars(
            select(Organization).where(Organization.kind == OrgKind.TOWN.value).order_by(Organization.name)
        )
    )


def skill_choices() -> list[Skill]:
    """Skills and languages, in a stable order."""
    return list(db.session.scalars(select(Skill).order_by(Skill.kind.desc(), Skill.id)))


def credential_type_choices() -> list[CredentialType]:
    """Training credentials that positions may require and courses may grant."""
    return list(db.session.scalars(select(CredentialType).order_by(CredentialType.name)))


def published_events_query(filters: EventFilters, *, now: datetime) -> Select[tuple[Event]]:
    """SELECT of published events matching the filters (upcoming ones when no date is given), by start."""
    query = (
        select(Event)
        .where(Event.status == EventStatus.PUBLISHED.value)
        .options(joinedload(Event.organization))
        .order_by(Event.starts_at, Event.id)
    )
    if filters.date_from:
        query = query.where(Event.ends_at > local_day_start(filters.date_from))
    else:
        query = query.where(Event.ends_at > now)
    if filters.date_to:
        query = query.where(Event.starts_at < local_day_start(filters.date_to + timedelta(days=1)))
    if filters.kind:
        query = query.where(Event.kind == filters.kind)
    if filters.town_id:
        town_path = db.session.scalar(
            select(Organization.path).where(Organization.id == filters.town_id, Organization.kind == OrgKind.TOWN.value)
        )
        organizer = aliased(Organization)
        query = query.join(organizer, organizer.id == Event.organization_id).where(
            subtree_filter(organizer.path, [town_path] if town_path else [])
        )
    if filters.skill_id:
        query = query.where(
            exists(
                select(Position.id)
                .join(position_skills, position_skills.c.position_id == Position.id)
                .where(Position.event_id == Event.id, position_skills.c.skill_id == filters.skill_id)
            )
        )
    return query


def list_published_events(
    filters: EventFilters, *, now: datetime, page: int = 1, per_page: int = PER_PAGE
) -> Pagination:
    """One page of published events (a flask_sqlalchemy Pagination)."""
    return db.paginate(
        published_events_query(filters, now=now), page=page, per_page=per_page, error_out=False, max_per_page=100
    )


@dataclass
class Availability:
    """Open places and shifts still to come in one event."""

    open_places: int = 0
    shifts: int = 0


def availability(event_ids: list[int], *, now: datetime) -> dict[int, Availability]:
    """Open places in upcoming shifts per event, for many events in one grouped query."""
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(Shift.event_id, func.sum(Shift.capacity - Shift.assigned_count), func.count(Shift.id))
        .where(Shift.event_id.in_(event_ids), Shift.is_cancelled.is_(False), Shift.starts_at > now)
        .group_by(Shift.event_id)
    ).all()
    result = {event_id: Availability() for event_id in event_ids}
    for event_id, places, shifts in rows:
        result[event_id] = Availability(int(places or 0), int(shifts or 0))
    return result


@dataclass
class PositionBlock:
    """A position with the shifts shown on the event page."""

    position: Position
    shifts: list[Shift] = field(default_factory=list)

    @property
    def open_places(self) -> int:
        return sum(s.open_places for s in self.shifts if not s.is_cancelled)


@dataclass
class EventPage:
    """Everything the event page shows, loaded in a handful of queries."""

    event: Event
    blocks: list[PositionBlock]
    days: list[date]
    waitlist: dict[int, int]
    mine: dict[int, Assignment]
    shift_count: int
    day: date | None = None


def event_page(
    event: Event, *, viewer: User | None, pick_day: Callable[[list[date], int], date | None] | None = None
) -> EventPage:
    """Positions with their shifts, waitlist lengths and the viewer's own places.

    `pick_day(days, shift_count)` may choose one local day to show; all shifts are shown otherwise.
    """
    positions = list(
        db.session.scalars(
            select(Position)
            .where(Position.event_id == event.id)
            .order_by(Position.id)
            .options(selectinload(Position.required_skills), selectinload(Position.required_credentials))
        )
    )
    shifts = list(
        db.session.scalars(select(Shift).where(Shift.event_id == event.id).order_by(Shift.starts_at, Shift.id))
    )
    days = sorted({to_local(s.starts_at).date() for s in shifts})
    day = pick_day(days, len(shifts)) if pick_day else None
    shown = [s for s in shifts if day is None or to_local(s.starts_at).date() == day]
    by_position: dict[int, list[Shift]] = defaultdict(list)
    for shift in shown:
        by_position[shift.position_id].append(shift)
    waitlist = dict(
        db.session.execute(
            select(Assignment.shift_id, func.count(Assignment.id))
            .join(Shift, Shift.id == Assignment.shift_id)
            .where(Shift.event_id == event.id, Assignment.status == AssignmentStatus.WAITLISTED.value)
            .group_by(Assignment.shift_id)
        )
        .tuples()
        .all()
    )
    mine: dict[int, Assignment] = {}
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        mine = {
            a.shift_id: a
            for a in db.session.scalars(
                select(Assignment)
                .join(Shift, Shift.id == Assignment.shift_id)
                .where(
                    Shift.event_id == event.id, Assignment.user_id == viewer.id, Assignment.status.in_(LIVE_STATUSES)
                )
            )
        }
    blocks = [PositionBlock(p, by_position.get(p.id, [])) for p in positions]
    return EventPage(event, blocks, days, waitlist, mine, len(shifts), day)


def managed_events_query(user: User, *, status: str | None = None) -> Select[tuple[Event]]:
    """SELECT of every event organized inside the user's coordinator/admin subtrees, newest start first."""
    organizer = aliased(Organization)
    query = (
        select(Event)
        .join(organizer, organizer.id == Event.organization_id)
        .where(subtree_filter(organizer.path, role_paths(user, MANAGER_ROLES)))
        .options(joinedload(Event.organization))
        .order_by(Event.starts_at.desc(), Event.id.desc())
    )
    if status:
        query = query.where(Event.status == status)
    return query


def list_managed_events(
    user: User, *, status: str | None = None, page: int = 1, per_page: int = PER_PAGE
) -> Pagination:
    """One page of the events a coordinator manages (any status)."""
    return db.paginate(
        managed_events_query(user, status=status), page=page, per_page=per_page, error_out=False, max_per_page=100
    )


def organizer_choices(user: User) -> list[Organization]:
    """Organizations the user may create events for: everything inside their coordinator/admin subtrees."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(subtree_filter(Organization.path, role_paths(user, MANAGER_ROLES)))
            .order_by(Organization.path)
        )
    )


def shift_counts(event: Event) -> tuple[int, int, int]:
    """(shifts, places, assigned) of the event's shifts that are not cancelled."""
    shifts, places, assigned = db.session.execute(
        select(
            func.count(Shift.id),
            func.coalesce(func.sum(Shift.capacity), 0),
            func.coalesce(func.sum(Shift.assigned_count), 0),
        ).where(Shift.event_id == event.id, Shift.is_cancelled.is_(False))
    ).one()
    return int(shifts), int(places), int(assigned)


@dataclass
class MyShift:
    """One row of "my shifts": the assignment, its shift, position and event, and place in the waitlist."""

    assignment: Assignment
    shift: Shift
    position: Position
    event: Event
    waitlist_place: int | None


def my_shifts(user: User, *, now: datetime) -> tuple[list[MyShift], list[MyShift]]:
    """The volunteer's own assignments: (upcoming soonest first, past latest first), in one query."""
    ahead = aliased(Assignment)
    place_in_line = (
        select(func.count(ahead.id) + 1)
        .where(
            ahead.shift_id == Assignment.shift_id,
            ahead.status == AssignmentStatus.WAITLISTED.value,
            (ahead.created_at < Assignment.created_at)
            | and_(ahead.created_at == Assignment.created_at, ahead.id < Assignment.id),
        )
        .correlate(Assignment)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Assignment, Shift, Position, Event, place_in_line)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Position, Position.id == Shift.position_id)
        .join(Event, Event.id == Shift.event_id)
        .where(Assignment.user_id == user.id)
        .order_by(Shift.starts_at, Assignment.id)
    ).all()
    upcoming: list[MyShift] = []
    past: list[MyShift] = []
    for assignment, shift, position, event, place in rows:
        waiting = assignment.status == AssignmentStatus.WAITLISTED.value
        item = MyShift(assignment, shift, position, event, int(place) if waiting else None)
        (upcoming if shift.ends_at > now else past).append(item)
    past.reverse()
    return upcoming, past
