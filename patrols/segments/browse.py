"""Read-only queries behind the river-patrol pages: segment lists, a segment's page, choices for forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.permissions import MANAGER_ROLES, role_paths, subtree_filter
from app.timeutil import to_local
from checkin.models import Attendance, AttendanceStatus
from events.models import LIVE_STATUSES, Assignment, AssignmentStatus, Shift
from patrols.segments.models import PatrolSchedule, PatrolShift, RiverSegment
from patrols.segments.schedules import GENERATION_DAYS
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization, OrgKind

PER_PAGE = 20


@dataclass
class SegmentFilters:
    """The list's filters: town, team, river name (all optional)."""

    town_id: int | None = None
    team_id: int | None = None
    river: str = ""


def list_segments(filters: SegmentFilters, *, page: int) -> Pagination:
    """One page of segments, by river then name, narrowed by the filters."""
    query = (
        select(RiverSegment)
        .options(joinedload(RiverSegment.town), joinedload(RiverSegment.team), joinedload(RiverSegment.chief))
        .order_by(RiverSegment.river_name, RiverSegment.name, RiverSegment.id)
    )
    if filters.town_id:
        query = query.where(RiverSegment.town_id == filters.town_id)
    if filters.team_id:
        query = query.where(RiverSegment.team_id == filters.team_id)
    if filters.river:
        query = query.where(RiverSegment.river_name == filters.river)
    return db.paginate(query, page=max(page, 1), per_page=PER_PAGE, error_out=False)


def filter_choices() -> dict[str, list]:
    """Towns, teams and rivers that have segments, for the list's filters."""
    town_ids = select(RiverSegment.town_id.distinct())
    team_ids = select(RiverSegment.team_id.distinct())
    return {
        "towns": list(
            db.session.scalars(select(Organization).where(Organization.id.in_(town_ids)).order_by(Organization.name))
        ),
        "teams": list(
            db.session.scalars(select(Organization).where(Organization.id.in_(team_ids)).order_by(Organization.name))
        ),
        "rivers": list(
            db.session.scalars(select(RiverSegment.river_name.distinct()).order_by(RiverSegment.river_name))
        ),
    }


def team_segments(team: Organization) -> list[RiverSegment]:
    """Every segment a team adopts."""
    return list(
        db.session.scalars(
            select(RiverSegment)
            .where(RiverSegment.team_id == team.id)
            .options(joinedload(RiverSegment.town), joinedload(RiverSegment.chief))
            .order_by(RiverSegment.river_name, RiverSegment.name)
        )
    )


def town_choices() -> list[Organization]:
    """Every town/street/park committee (a segment lies in one)."""
    return list(
        db.session.scalars(
            select(Organization).where(Organization.kind == OrgKind.TOWN.value).order_by(Organization.name)
        )
    )


def team_choices(user: User, current: Organization | None = None) -> list[Organization]:
    """Volunteer teams the user coordinates (and the segment's current team), for the adopting-team field."""
    paths = role_paths(user, MANAGER_ROLES)
    teams = list(
        db.session.scalars(
            select(Organization)
            .where(Organization.kind == OrgKind.TEAM.value, subtree_filter(Organization.path, paths))
            .order_by(Organization.name)
        )
    )
    if current is not None and current not in teams:
        teams.insert(0, current)
    return teams


@dataclass
class UpcomingPatrol:
    """A future patrol shift on the segment page, with the viewer's own place on it (if any)."""

    shift: Shift
    local_date: date
    mine: Assignment | None


def upcoming_patrols(segment: RiverSegment, viewer: User | None, *, now: datetime) -> list[UpcomingPatrol]:
    """The segment's patrol shifts not over yet, within the generation horizon, soonest first."""
    if segment.event_id is None:
        return []
    shifts = list(
        db.session.scalars(
            select(Shift)
            .where(
                Shift.event_id == segment.event_id,
                Shift.is_cancelled.is_(False),
                Shift.ends_at > now,
                Shift.starts_at < now + timedelta(days=GENERATION_DAYS + 1),
            )
            .order_by(Shift.starts_at, Shift.id)
        )
    )
    dates = dict(
        db.session.execute(
            select(PatrolShift.shift_id, PatrolShift.local_date).where(
                PatrolShift.shift_id.in_([s.id for s in shifts] or [-1])
            )
        )
        .tuples()
        .all()
    )
    mine: dict[int, Assignment] = {}
    if viewer is not None and getattr(viewer, "is_authenticated", False) and shifts:
        mine = {
            a.shift_id: a
            for a in db.session.scalars(
                select(Assignment).where(
                    Assignment.user_id == viewer.id,
                    Assignment.shift_id.in_([s.id for s in shifts]),
                    Assignment.status.in_(LIVE_STATUSES),
                )
            )
        }
    return [UpcomingPatrol(s, dates.get(s.id) or to_local(s.starts_at).date(), mine.get(s.id)) for s in shifts]


def schedules_of(segment: RiverSegment) -> list[PatrolSchedule]:
    """The segment's schedules, active first."""
    return sorted(segment.schedules, key=lambda s: (not s.is_active, s.id))


def leads_patrol_event(user_id: int, event_id: int) -> bool:
    """True when the user is the volunteer river chief (志愿者河长) of the segment whose patrol event this is:
    the `leads_patrol` fact of app/permissions.py."""
    chief = select(RiverSegment.id).where(RiverSegment.event_id == event_id, RiverSegment.chief_id == user_id)
    return db.session.scalar(chief) is not None


def on_patrol(user_id: int, shift_id: int) -> bool:
    """True when the user attended the patrol shift or holds a place on it (assigned or completed): the `on_patrol`
    fact of app/permissions.py."""
    attended = select(Attendance.id).where(
        Attendance.shift_id == shift_id,
        Attendance.user_id == user_id,
        Attendance.status != AttendanceStatus.VOIDED.value,
    )
    assigned = select(Assignment.id).where(
        Assignment.shift_id == shift_id,
        Assignment.user_id == user_id,
        Assignment.status.in_((AssignmentStatus.ASSIGNED.value, AssignmentStatus.COMPLETED.value)),
    )
    return bool(db.session.scalar(select(attended.exists() | assigned.exists())))
