"""Staffing an event: the board (positions × shifts with coverage), a shift's volunteers,
volunteer search within the coordinator's scope, and assigning through the sign-up rules.

Every rule about who may be put on a shift lives in events.signup.services; this module only
reads, scopes and delegates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.errors import DomainError, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import MANAGER_ROLES, can_staff_shift, role_paths, subtree_filter
from app.timeutil import to_local
from events.models import LIVE_STATUSES, Assignment, AssignmentStatus, Event, Position, Shift
from events.signup import services as signup
from events.signup.rules import OVERRIDABLE_RULES, RuleViolation, check_rules
from volunteers.accounts.models import Skill, User, user_skills
from volunteers.organizations.models import Organization

SEARCH_PAGE_SIZE = 20
#: below this share of the headcount a shift is "low" (under half staffed)
LOW_COVERAGE = 0.5


def coverage_class(filled: int, capacity: int) -> str:
    """CSS class of a shift's coverage: empty, low, ok or full."""
    if capacity <= 0 or filled >= capacity:
        return "full"
    if filled <= 0:
        return "empty"
    if filled < capacity * LOW_COVERAGE:
        return "low"
    return "ok"


# --------------------------------------------------------------------------- the board


@dataclass(slots=True)
class BoardCell:
    """One shift on the board, with its counts and coverage class (computed once: the board has hundreds)."""

    shift_id: int
    position_id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    filled: int
    waitlisted: int
    cancelled: bool
    meeting_point: str
    coverage: str = ""
    day: date = field(init=False)

    def __post_init__(self) -> None:
        self.coverage = "cancelled" if self.cancelled else coverage_class(self.filled, self.capacity)
        self.day = to_local(self.starts_at).date()

    @property
    def understaffed(self) -> bool:
        return not self.cancelled and self.filled < self.capacity


@dataclass
class BoardRow:
    """A position on one day: one list of shifts per time slot of that day."""

    position_id: int
    name: str
    cells: list[list[BoardCell]]


@dataclass
class BoardDay:
    """One day of the board: its time slots (local start, end) and a row per position."""

    day: date
    slots: list[tuple[datetime, datetime]]
    rows: list[BoardRow]
    filled: int = 0
    needed: int = 0


@dataclass
class Board:
    """What the staffing board shows, and the choices of its filters."""

    event: Event
    positions: list[tuple[int, str]]
    all_days: list[date]
    days: list[BoardDay]
    filled: int = 0
    needed: int = 0
    coverage_counts: dict[str, int] = field(default_factory=dict)


def shift_counts(event: Event) -> list[BoardCell]:
    """Every shift of the event with its assigned and waitlisted counts, in one aggregate query."""
    waiting = (
        select(Assignment.shift_id, func.count().label("waitlisted"))
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Shift.event_id == event.id, Assignment.status == AssignmentStatus.WAITLISTED.value)
        .group_by(Assignment.shift_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Shift.id,
            Shift.position_id,
            Shift.starts_at,
            Shift.ends_at,
            Shift.capacity,
            Shift.assigned_count,
            Shift.is_cancelled,
            Shift.meeting_point,
            func.coalesce(waiting.c.waitlisted, 0),
        )
        .outerjoin(waiting, waiting.c.shift_id == Shift.id)
        .where(Shift.event_id == event.id)
        .order_by(Shift.starts_at, Shift.ends_at, Shift.position_id, Shift.id)
    ).all()
    return [
        BoardCell(
            shift_id=r[0],
            position_id=r[1],
            starts_at=r[2],
            ends_at=r[3],
            capacity=r[4],
            filled=r[5],
            waitlisted=r[8],
            cancelled=bool(r[6]),
            meeting_point=r[7] or "",
        )
        for r in rows
    ]


def event_positions(event: Event) -> list[tuple[int, str]]:
    """(id, name) of the event's positions, in the order they were created."""
    return [
        (pid, name)
        for pid, name in db.session.execute(
            select(Position.id, Position.name).where(Position.event_id == event.id).order_by(Position.id)
        )
    ]


def days_of(cells: list[BoardCell]) -> list[date]:
    """The local days on which the shifts start, in order."""
    return sorted({c.day for c in cells})


def build_board(
    event: Event,
    *,
    cells: list[BoardCell] | None = None,
    positions: list[tuple[int, str]] | None = None,
    day: date | None = None,
    position_id: int | None = None,
    understaffed_only: bool = False,
) -> Board:
    """The staffing board of an event: per local day, positions × time slots, filtered."""
    positions = event_positions(event) if positions is None else positions
    cells = shift_counts(event) if cells is None else cells
    names = dict(positions)
    board = Board(event=event, positions=list(positions), all_days=days_of(cells), days=[])
    by_day: dict[date, list[BoardCell]] = defaultdict(list)
    for cell in cells:
        local_day = cell.day
        if day is not None and local_day != day:
            continue
        if position_id is not None and cell.position_id != position_id:
            continue
        if understaffed_only and not cell.understaffed:
            continue
        by_day[local_day].append(cell)
    counts: dict[str, int] = defaultdict(int)
    for local_day in sorted(by_day):
        day_cells = by_day[local_day]
        slots = sorted({(c.starts_at, c.ends_at) for c in day_cells})
        slot_index = {slot: i for i, slot in enumerate(slots)}
        grid: dict[int, list[list[BoardCell]]] = {}
        board_day = BoardDay(day=local_day, slots=[(to_local(s), to_local(e)) for s, e in slots], rows=[])
        for cell in day_cells:
            grid.setdefault(cell.position_id, [[] for _slot in slots])[
                slot_index[(cell.starts_at, cell.ends_at)]
            ].append(cell)
            counts[cell.coverage] += 1
            if not cell.cancelled:
                board_day.filled += cell.filled
                board_day.needed += cell.capacity
        board_day.rows = [BoardRow(pid, names.get(pid, ""), grid[pid]) for pid, _name in positions if pid in grid]
        board.days.append(board_day)
        board.filled += board_day.filled
        board.needed += board_day.needed
    board.coverage_counts = dict(counts)
    return board


# --------------------------------------------------------------------------- a shift's volunteers


@dataclass
class ShiftRoster:
    """The volunteers of one shift, by status; waitlist in the order it is served."""

    assigned: list[Assignment]
    waitlisted: list[Assignment]
    applied: list[Assignment]
    history: list[Assignment]


def shift_roster(shift: Shift) -> ShiftRoster:
    """Every assignment of a shift with its volunteer and their organization loaded."""
    rows = db.session.scalars(
        select(Assignment)
        .options(joinedload(Assignment.user).joinedload(User.organization), joinedload(Assignment.quota_organization))
        .where(Assignment.shift_id == shift.id)
        .order_by(Assignment.created_at, Assignment.id)
    ).all()
    roster = ShiftRoster([], [], [], [])
    for row in rows:
        if row.status == AssignmentStatus.ASSIGNED.value:
            roster.assigned.append(row)
        elif row.status == AssignmentStatus.WAITLISTED.value:
            roster.waitlisted.append(row)
        elif row.status == AssignmentStatus.APPLIED.value:
            roster.applied.append(row)
        else:
            roster.history.append(row)
    roster.assigned.sort(key=lambda a: (a.user.name, a.id))
    return roster


def move_targets(assignment: Assignment) -> list[tuple[str, list[tuple[int, str]]]]:
    """Other open shifts of the same event, grouped by position (the assignment's own first)."""
    shift = assignment.shift
    rows = db.session.execute(
        select(
            Shift.id,
            Shift.position_id,
            Position.name,
            Shift.starts_at,
            Shift.ends_at,
            Shift.capacity,
            Shift.assigned_count,
        )
        .join(Position, Position.id == Shift.position_id)
        .where(Shift.event_id == shift.event_id, Shift.id != shift.id, Shift.is_cancelled.is_(False))
        .order_by(Shift.position_id, Shift.starts_at, Shift.id)
    ).all()
    groups: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for sid, pid, name, starts, ends, capacity, filled in rows:
        label = f"{to_local(starts):%m-%d %H:%M}–{to_local(ends):%H:%M} ({filled}/{capacity})"
        groups.setdefault(pid, (name, []))[1].append((sid, label))
    ordered = sorted(groups.items(), key=lambda item: (item[0] != shift.position_id, item[0]))
    return [group for _pid, group in ordered]


# --------------------------------------------------------------------------- volunteer search


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def volunteer_scope(by: User) -> ColumnElement[bool]:
    """SQL condition: the volunteer is affiliated where `by` coordinates (their subtrees)."""
    return subtree_filter(Organization.path, role_paths(by, MANAGER_ROLES))


def skill_options() -> list[tuple[int, str]]:
    """(id, name) of every skill and language, for the search filter."""
    return [
        (sid, name)
        for sid, name in db.session.execute(select(Skill.id, Skill.name).order_by(Skill.kind.desc(), Skill.id))
    ]


def scope_organizations(by: User) -> list[Organization]:
    """Organizations inside the subtrees `by` coordinates, in tree order (for the team filter)."""
    return list(db.session.scalars(select(Organization).where(volunteer_scope(by)).order_by(Organization.path)))


def search_volunteers(
    by: User,
    *,
    text: str = "",
    skill_id: int | None = None,
    organization_id: int | None = None,
    page: int = 1,
    per_page: int = SEARCH_PAGE_SIZE,
) -> Pagination:
    """Volunteers `by` may see, matched by name, mobile or number, skill and team; one page of them."""
    stmt = (
        select(User)
        .join(Organization, Organization.id == User.organization_id)
        .where(volunteer_scope(by), User.is_disabled.is_(False))
        .options(selectinload(User.skills), joinedload(User.organization))
    )
    text = (text or "").strip()
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            or_(
                User.name.ilike(pattern, escape="\\"),
                User.mobile.like(pattern, escape="\\"),
                User.volunteer_number.ilike(pattern, escape="\\"),
            )
        )
    if skill_id:
        stmt = stmt.where(User.id.in_(select(user_skills.c.user_id).where(user_skills.c.skill_id == skill_id)))
    if organization_id:
        team = db.session.get(Organization, organization_id)
        if team is None:
            raise ValidationFailed(_("Choose an organization from the list."), field="organization")
        stmt = stmt.where(Organization.path.startswith(team.path, autoescape=True))
    stmt = stmt.order_by(User.name, User.id)
    return db.paginate(stmt, page=max(page, 1), per_page=per_page, error_out=False)


def live_on_shift(shift: Shift, user_ids: list[int]) -> dict[int, str]:
    """Status of the live assignment on `shift` of each of `user_ids` that has one."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(Assignment.user_id, Assignment.status).where(
            Assignment.shift_id == shift.id, Assignment.user_id.in_(user_ids), Assignment.status.in_(LIVE_STATUSES)
        )
    ).tuples()
    return dict(rows.all())  # not dict(rows): a Result has keys(), so dict() would read it as a mapping


# --------------------------------------------------------------------------- assigning


@dataclass
class Refusal:
    """A volunteer who could not be put on the shift, with every reason."""

    volunteer: User
    violations: list[RuleViolation]

    @property
    def overridable_codes(self) -> list[str]:
        return [v.code for v in self.violations if v.code in OVERRIDABLE_RULES]


@dataclass
class AssignOutcome:
    """What a (bulk) assignment did."""

    assigned: list[Assignment] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def _every_reason(
    shift: Shift,
    volunteer: User,
    first: RuleViolation | None,
    *,
    now: datetime,
    ignore: frozenset[str],
    exclude_shift_ids: tuple[int, ...] = (),
) -> list[RuleViolation]:
    """All the rules a refused volunteer breaks (at least the one that refused them)."""
    violations = list(check_rules(shift, volunteer, now=now, ignore=ignore, exclude_shift_ids=exclude_shift_ids))
    if first is not None and all(v.code != first.code for v in violations):
        violations.insert(0, first)
    return violations


def visible_volunteers(by: User, volunteer_ids: list[int]) -> list[User]:
    """Those of these volunteers that `by` may see, by name (to show a selection again)."""
    if not volunteer_ids:
        return []
    return list(
        db.session.scalars(
            select(User)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id.in_(volunteer_ids), volunteer_scope(by))
            .order_by(User.name, User.id)
        )
    )


def scoped_volunteers(by: User, volunteer_ids: list[int]) -> list[User]:
    """The volunteers with these ids that `by` may see; refuse when any is unknown or out of scope."""
    ids = list(dict.fromkeys(volunteer_ids))
    if not ids:
        raise ValidationFailed(_("Select at least one volunteer."), field="volunteer_ids", code="none_selected")
    found = list(
        db.session.scalars(
            select(User)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id.in_(ids), volunteer_scope(by))
        )
    )
    if len(found) != len(ids):
        raise ValidationFailed(
            _("Some selected volunteers were not found."), field="volunteer_ids", code="unknown_volunteer"
        )
    order = {uid: i for i, uid in enumerate(ids)}
    return sorted(found, key=lambda u: order[u.id])


def assign_volunteers(
    shift: Shift,
    volunteer_ids: list[int],
    *,
    by: User,
    now: datetime,
    override_rules: Iterable[str] = frozenset(),
    override_reason: str = "",
) -> AssignOutcome:
    """Put found volunteers on a shift through the sign-up rules; collect each refusal's reasons."""
    if not can_staff_shift(by, shift):
        raise PermissionDenied(_("You may not change the staffing of this shift."))
    rules = signup.check_overrides(override_rules, override_reason)
    reason = (override_reason or "").strip()
    volunteers = scoped_volunteers(by, volunteer_ids)
    result = signup.bulk_assign(shift, volunteers, by=by, now=now, override_rules=rules, override_reason=reason)
    outcome = AssignOutcome(assigned=list(result.assigned))
    for volunteer, violation in result.refused:
        outcome.refused.append(Refusal(volunteer, _every_reason(shift, volunteer, violation, now=now, ignore=rules)))
    return outcome


def move_assignment(
    assignment: Assignment,
    to_shift: Shift,
    *,
    by: User,
    now: datetime,
    override_rules: Iterable[str] = frozenset(),
    override_reason: str = "",
) -> Assignment:
    """Move a volunteer to another shift of the same event, through the sign-up rules."""
    if to_shift.event_id != assignment.shift.event_id or to_shift.id == assignment.shift_id:
        raise ValidationFailed(_("Choose another shift of the same event."), field="to_shift_id", code="bad_target")
    return signup.move(
        assignment,
        to_shift,
        by=by,
        now=now,
        override_rules=frozenset(override_rules or ()),
        override_reason=override_reason or "",
    )


def refusal_for(
    shift: Shift,
    volunteer: User,
    refused: DomainError,
    *,
    now: datetime,
    ignore: Iterable[str] = frozenset(),
    exclude_shift_ids: tuple[int, ...] = (),
) -> Refusal:
    """Every reason a single sign-up refusal (SignupRefused) stands for."""
    first = getattr(refused, "violation", None) or RuleViolation(refused.code, refused.message)
    return Refusal(
        volunteer,
        _every_reason(shift, volunteer, first, now=now, ignore=frozenset(ignore), exclude_shift_ids=exclude_shift_ids),
    )
