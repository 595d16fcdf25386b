"""Every permission decision in one place; views, services and the API all ask here.

A role granted at an organization holds for its whole subtree (organization paths are
prefixes: "/1/7/" holds "/1/7/42/"). Functions read as sentences: `can_manage(user, org)`.

The kernel owns no product data. What a rule needs to know of an area's records (a
person's role grants, whether a team has a quota, who recorded an entry) is a *fact*
that the owning area provides once, at import, with `provide(name, function)`:

- ``role_grants(user_id) -> list[(role, path)]``: volunteers/accounts/roles.py
- ``team_has_quota(position_id, team_id) -> bool``: events/staffing/quotas.py
- ``attendance_event(attendance) -> Event | None``: checkin/models.py
- ``hours_recorders(entry) -> set[int]``: hours/review/verification.py
- ``leads_patrol(user_id, event_id) -> bool`` and ``on_patrol(user_id, shift_id) -> bool``: patrols/area.py
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from flask import abort, g, has_request_context
from flask_login import current_user
from sqlalchemy import false, or_

from app.extensions import login_manager

if TYPE_CHECKING:
    from flask.typing import ResponseReturnValue
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import QueryableAttribute

    from checkin.models import Attendance
    from events.models import Assignment, Event, Position, Shift
    from hours.certificates.models import Certificate
    from hours.ledger.models import HourDispute, HourEntry, HourEvidence
    from notifications.models import Notification
    from patrols.reports.models import PatrolReport
    from patrols.segments.models import PatrolShift, RiverSegment
    from volunteers.accounts.models import User
    from volunteers.affiliation.models import AffiliationChange
    from volunteers.organizations.models import Organization

_P = ParamSpec("_P")
_R = TypeVar("_R")


class Role(str, enum.Enum):
    """Roles granted at an organization; each holds for the whole subtree."""

    COORDINATOR = "coordinator"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Person(Protocol):
    """Who asks: a User, Flask-Login's anonymous user (not authenticated) or the API's stand-in for a token's user."""

    @property
    def id(self) -> int: ...
    @property
    def is_authenticated(self) -> bool: ...


class InTree(Protocol):
    """What a role rule reads of an organization: its path in the tree ("/1/7/42/")."""

    @property
    def path(self) -> str: ...


_FACTS: dict[str, Callable[..., Any]] = {}


def provide(name: str, function: Callable[..., Any]) -> None:
    """Register the function that answers the fact `name` (see the module's docstring); the last one wins."""
    _FACTS[name] = function


def fact(name: str, *args: Any) -> Any:
    """Ask the area that provides `name`; a LookupError says which area is missing from the app."""
    try:
        function = _FACTS[name]
    except KeyError:
        raise LookupError(f"no product area provides the permission fact {name!r}") from None
    return function(*args)


def _grants(user: Person | None) -> list[tuple[str, str]]:
    """(role, organization path) pairs held by the user, cached for the request."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    cache = g.setdefault("_role_grants", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = list(fact("role_grants", user.id))
    return cache[user.id]


def remember_grants(user_id: int, packed: str | None) -> None:
    """Cache for this request grants read along with the user ("role:path|role:path"; roles and paths hold no
    ':' or '|'), as volunteers.accounts.roles.grants_column packs them."""
    if has_request_context():
        pairs = [tuple(item.split(":", 1)) for item in packed.split("|")] if packed else []
        g.setdefault("_role_grants", {})[user_id] = pairs


def forget_cached_grants() -> None:
    """Drop the per-request cache after roles change."""
    if has_request_context():
        g.pop("_role_grants", None)


def has_role(user: Person | None, roles: set[str] | str, org: InTree | None) -> bool:
    """True when the user holds one of `roles` at `org` or at one of its ancestors."""
    if org is None:
        return False
    wanted = {roles} if isinstance(roles, str) else set(roles)
    return any(role in wanted and org.path.startswith(path) for role, path in _grants(user))


def has_any_role(user: Person | None, roles: set[str] | str | None = None) -> bool:
    """True when the user holds one of `roles` anywhere (any role when None)."""
    wanted = None if roles is None else ({roles} if isinstance(roles, str) else set(roles))
    return any(wanted is None or role in wanted for role, _ in _grants(user))


def role_paths(user: Person | None, roles: set[str] | str) -> list[str]:
    """Paths of the subtrees where the user holds one of `roles` (outermost only)."""
    wanted = {roles} if isinstance(roles, str) else set(roles)
    paths = sorted({path for role, path in _grants(user) if role in wanted}, key=len)
    outer: list[str] = []
    for path in paths:
        if not any(path.startswith(o) for o in outer):
            outer.append(path)
    return outer


def subtree_filter(column_path: QueryableAttribute[str], paths: list[str]) -> ColumnElement[bool]:
    """SQL condition: the organization path column lies under one of `paths`."""
    if not paths:
        return false()
    return or_(*[column_path.startswith(p, autoescape=True) for p in paths])


MANAGER_ROLES = {Role.COORDINATOR.value, Role.ADMIN.value}
REVIEWER_ROLES = {Role.REVIEWER.value, Role.ADMIN.value}
STAFF_ROLES = {Role.COORDINATOR.value, Role.REVIEWER.value, Role.ADMIN.value}


def can_manage(user: Person | None, org: InTree | None) -> bool:
    """Coordinate events and volunteers of `org` (coordinator or administrator above it)."""
    return has_role(user, MANAGER_ROLES, org)


def can_review(user: Person | None, org: InTree | None) -> bool:
    """Verify hours and eligibility for `org` (reviewer or administrator above it)."""
    return has_role(user, REVIEWER_ROLES, org)


def can_administer(user: Person | None, org: InTree | None) -> bool:
    """Grant roles, import volunteers and see ID numbers under `org`."""
    return has_role(user, Role.ADMIN.value, org)


def can_view_volunteer(user: Person | None, volunteer: User) -> bool:
    """A volunteer sees their own record; staff see volunteers affiliated under their subtree."""
    if user is None or not user.is_authenticated:
        return False
    return user.id == volunteer.id or has_role(user, STAFF_ROLES, volunteer.organization)


def can_edit_volunteer(user: Person | None, volunteer: User) -> bool:
    """The volunteer edits their own profile; an administrator above their affiliation may too."""
    if user is None or not user.is_authenticated:
        return False
    return user.id == volunteer.id or can_administer(user, volunteer.organization)


def can_reveal_id_number(user: Person | None, volunteer: User) -> bool:
    """Only the owner and administrators above the affiliation see the whole ID number."""
    return can_edit_volunteer(user, volunteer)


def can_grant_role(user: Person | None, org: Organization | None) -> bool:
    """Administrators grant and revoke roles inside their own subtree."""
    return can_administer(user, org)


# The account directory (volunteers/admin/directory) and recovery links (volunteers/recovery).


def can_view_directory(user: Person | None) -> bool:
    """Reviewers and administrators list the people of their subtrees (coordinators run events, not accounts)."""
    return has_any_role(user, REVIEWER_ROLES)


def directory_paths(user: Person | None) -> list[str]:
    """The subtrees whose people the user finds in the directory and exports: where they review or administer."""
    return role_paths(user, REVIEWER_ROLES)


def can_list_people_of(user: Person | None, org: InTree | None) -> bool:
    """List and export the people affiliated under `org`: reviewers and administrators over it."""
    return can_review(user, org)


def _roles_inside(user: Person | None, person: User, roles: set[str] | str) -> bool:
    """True when every role `person` holds lies inside a subtree where `user` holds one of `roles`."""
    paths = role_paths(user, roles)
    return all(any(path.startswith(outer) for outer in paths) for _role, path in _grants(person))


def can_disable_account(user: Person | None, person: User) -> bool:
    """Disable or re-enable an account: an administrator over the person's affiliation and over every organization
    where the person holds a role (nobody disables an administrator above them). Their own account: see the service."""
    return can_administer(user, person.organization) and _roles_inside(user, person, Role.ADMIN.value)


def can_issue_reset_link(user: Person | None, person: User) -> bool:
    """Issue a one-time password reset link (its holder takes over the account): reviewers and administrators over
    the person's affiliation for a volunteer without any role; for staff, only an administrator over every
    organization where the person holds a role."""
    if not can_review(user, person.organization):
        return False
    if not _grants(person):
        return True
    return _roles_inside(user, person, Role.ADMIN.value)


# Changing affiliation (volunteers/affiliation/): requests, staff moves and the graduates' hand-over (学社衔接).


def can_decide_affiliation(user: Person | None, change: AffiliationChange) -> bool:
    """Approve or refuse a move into an organization (a volunteer's request or a graduate's hand-over): reviewers
    and administrators over the receiving organization, never on their own move."""
    if user is None or not user.is_authenticated or change.volunteer_id == user.id:
        return False
    return can_review(user, change.to_organization)


def can_cancel_affiliation(user: Person | None, change: AffiliationChange) -> bool:
    """Withdraw a pending change: the volunteer their own request; administrators over the handing-over
    organization a graduate's hand-over."""
    if user is None or not user.is_authenticated:
        return False
    if change.kind == "request":
        return change.volunteer_id == user.id
    return change.kind == "graduation" and can_administer(user, change.from_organization)


def can_move_volunteers(user: Person | None, org: InTree | None) -> bool:
    """Move people in bulk from and to `org`: administrators over it (both ends of a move must pass)."""
    return can_administer(user, org)


def can_hand_over_graduates(user: Person | None, university: Organization | None) -> bool:
    """Hand a university's graduating volunteers over to where they go: administrators over the university."""
    return university is not None and university.kind == "university" and can_administer(user, university)


def can_view_handover_rates(user: Person | None, university: Organization | None) -> bool:
    """See a university's hand-over figures: reviewers and administrators over the university."""
    return university is not None and university.kind == "university" and can_review(user, university)


def can_staff_shift(user: Person | None, shift: Shift) -> bool:
    """Assign, unassign, move and mark no-shows on a shift: managers of the event's organization."""
    return can_manage(user, shift.event.organization)


def can_fill_quota(
    user: Person | None, position: Position, team: Organization | None, volunteer: User | None = None
) -> bool:
    """A team's coordinator fills the team's quota of a position, with the team's own members only."""
    if team is None or not can_manage(user, team):
        return False
    if volunteer is not None and not volunteer.organization.is_within(team):
        return False
    return bool(fact("team_has_quota", position.id, team.id))


def can_create_events(user: Person | None) -> bool:
    """Coordinators and administrators (anywhere) create events, for organizations inside their subtrees."""
    return has_any_role(user, MANAGER_ROLES)


def can_manage_event(user: Person | None, event: Event) -> bool:
    """Edit, publish and cancel an event, its positions and shifts: managers of its organizer."""
    return can_manage(user, event.organization)


def can_view_event(user: Person | None, event: Event) -> bool:
    """Published and cancelled events are public; a draft is seen only by those who manage it."""
    return event.status != "draft" or can_manage_event(user, event)


def can_cancel_own_assignment(user: Person | None, assignment: Assignment) -> bool:
    """A volunteer cancels only their own place from the volunteer pages (staff use the staffing board)."""
    if user is None or not user.is_authenticated:
        return False
    return assignment.user_id == user.id


def can_view_assignment(user: Person | None, assignment: Assignment) -> bool:
    """The volunteer, staff of the shift, and the coordinator of the team whose quota it fills see an assignment."""
    if user is None or not user.is_authenticated:
        return False
    if assignment.user_id == user.id or can_staff_shift(user, assignment.shift):
        return True
    return assignment.quota_organization is not None and can_manage(user, assignment.quota_organization)


def can_read_notification(user: Person | None, notification: Notification) -> bool:
    """A notification is seen and marked read only by the user it was sent to."""
    if user is None or not user.is_authenticated:
        return False
    return notification.user_id == user.id


def role_required(*roles: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R | ResponseReturnValue]]:
    """Route decorator: 403 unless the user holds one of `roles` somewhere.

    The view must still check the object's organization with a `can_*` function.
    """
    wanted = set(roles) or STAFF_ROLES

    def decorator(view: Callable[_P, _R]) -> Callable[_P, _R | ResponseReturnValue]:
        @wraps(view)
        def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R | ResponseReturnValue:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_any_role(current_user, wanted):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can_run_checkin(user: Person | None, event: Event) -> bool:
    """Open kiosks, scan badges, check in by hand, fix attendance and see the live dashboard of an event."""
    return can_manage(user, event.organization) or leads_patrol(user, event)


def can_view_attendance(user: Person | None, attendance: Attendance) -> bool:
    """The volunteer sees their own attendance; managers of the event's organization see all of it."""
    if user is None or not user.is_authenticated:
        return False
    if attendance.user_id == user.id:
        return True
    event = fact("attendance_event", attendance)
    return event is not None and can_run_checkin(user, event)


# Service hours (hours/). Who "recorded" an entry is worked out in hours/review/verification.py.


def hours_verifying_organization(entry: HourEntry) -> Organization:
    """Whose reviewers verify an entry: its organizer; back-filled hours one level above (the root's own)."""
    org = entry.organization
    if entry.kind == "backfill" and org.parent is not None:
        return org.parent
    return org


def can_submit_hours(user: Person | None, event: Event) -> bool:
    """Review an event's recorded hours, submit them and back-fill paper records: managers of its organizer."""
    return can_manage(user, event.organization)


def can_review_hours(user: Person | None, event: Event) -> bool:
    """Open an event's submitted hours for verification: reviewers of its organizer or above."""
    return can_review(user, event.organization)


def can_verify_hours(user: Person | None, entry: HourEntry, recorders: set[int] | None = None) -> bool:
    """Verify or reject an entry: a reviewer at the right level who neither recorded nor served the hours."""
    if user is None or not user.is_authenticated:
        return False
    if not can_review(user, hours_verifying_organization(entry)):
        return False
    if recorders is None:
        recorders = fact("hours_recorders", entry)
    return user.id not in recorders


def can_view_hours_entry(user: Person | None, entry: HourEntry) -> bool:
    """A volunteer sees their own entries; managers and reviewers of the organizer see its entries."""
    if user is None or not user.is_authenticated:
        return False
    return entry.volunteer_id == user.id or has_role(user, STAFF_ROLES, entry.organization)


def can_correct_hours(user: Person | None, entry: HourEntry) -> bool:
    """Correct or reverse an entry: managers and reviewers of its organizer, never on their own hours."""
    if user is None or not user.is_authenticated or entry.volunteer_id == user.id:
        return False
    return has_role(user, STAFF_ROLES, entry.organization)


def can_dispute_hours(user: Person | None, entry: HourEntry) -> bool:
    """Only the volunteer disputes an entry of their own."""
    return user is not None and user.is_authenticated and entry.volunteer_id == user.id


def can_answer_dispute(user: Person | None, dispute: HourDispute) -> bool:
    """Reviewers of the organizer answer a dispute, never one about their own hours."""
    if user is None or not user.is_authenticated or dispute.volunteer_id == user.id:
        return False
    return can_review(user, dispute.organization)


def can_view_evidence(user: Person | None, evidence: HourEvidence) -> bool:
    """Evidence of back-filled hours (paper sheets list other people) is seen by staff of the organizer only."""
    return has_role(user, STAFF_ROLES, evidence.organization)


def can_read_hours_audit(user: Person | None) -> bool:
    """Reviewers and administrators read the hours audit trail of their own subtrees."""
    return has_any_role(user, REVIEWER_ROLES)


def can_set_rounding(user: Person | None, org: Organization | None) -> bool:
    """Administrators choose how an organization (and its subtree) rounds credited minutes."""
    return can_administer(user, org)


def can_assess_applicant(user: Person | None, applicant: User) -> bool:
    """See a membership applicant's progress, record their ideology evaluation and verify their eligibility:
    coordinators, reviewers and administrators over the applicant's affiliation."""
    return has_role(user, STAFF_ROLES, applicant.organization)


def can_list_applicants(user: Person | None) -> bool:
    """Branches and committees (any staff role somewhere) list the membership applicants of their subtrees."""
    return has_any_role(user, STAFF_ROLES)


def can_export_id_numbers(user: Person | None, volunteer: User) -> bool:
    """Only administrators above the affiliation export full ID numbers (e.g. for the national League system)."""
    return can_administer(user, volunteer.organization)


def can_issue_certificate(user: Person | None, volunteer: User) -> bool:
    """A volunteer issues their own hours certificate; staff over the volunteer's affiliation issue one for them."""
    if user is None or not user.is_authenticated:
        return False
    return user.id == volunteer.id or has_role(user, STAFF_ROLES, volunteer.organization)


def can_view_certificate(user: Person | None, certificate: Certificate) -> bool:
    """The volunteer, and staff over their affiliation or over the issuing committee, open a certificate."""
    if user is None or not user.is_authenticated:
        return False
    return (
        certificate.volunteer_id == user.id
        or has_role(user, STAFF_ROLES, certificate.volunteer.organization)
        or has_role(user, STAFF_ROLES, certificate.organization)
    )


def can_revoke_certificate(user: Person | None, certificate: Certificate) -> bool:
    """Reviewers and administrators over the issuing committee revoke a certificate, never one of their own."""
    if user is None or not user.is_authenticated or certificate.volunteer_id == user.id:
        return False
    return can_review(user, certificate.organization)


def can_view_hours_report(user: Person | None, org: Organization | None) -> bool:
    """Hours reports of a subtree: coordinators, reviewers and administrators over it."""
    return has_role(user, STAFF_ROLES, org)


def granted_paths(user: Person | None, roles: set[str] | str) -> list[str]:
    """Paths of every organization where the user holds one of `roles` (inner grants included), deepest first."""
    wanted = {roles} if isinstance(roles, str) else set(roles)
    return sorted({path for role, path in _grants(user) if role in wanted}, key=len, reverse=True)


# River patrol (patrols/): segments, schedules, patrol check-in.


def can_view_segments(user: Person | None) -> bool:
    """Signed-in users see river segments, their schedules and upcoming patrols (and sign up for them)."""
    return user is not None and user.is_authenticated


def can_create_segments(user: Person | None) -> bool:
    """Coordinators and administrators (anywhere) open the form to create river segments."""
    return has_any_role(user, MANAGER_ROLES)


def can_create_segment_for(user: Person | None, team: Organization | None) -> bool:
    """Create a segment adopted by `team` (or hand one to it): coordinators over the team, which organizes the
    patrols (a role over a town holds for the teams inside it)."""
    return can_manage(user, team)


def can_move_segment_to(user: Person | None, town: Organization | None, team: Organization | None) -> bool:
    """Place a segment in `town` with adopting `team`: the user must still coordinate the town or the team."""
    return can_manage(user, town) or can_manage(user, team)


def can_manage_segment(user: Person | None, segment: RiverSegment) -> bool:
    """Edit a segment and its patrol schedules: coordinators and administrators over its town or its team."""
    return can_manage(user, segment.town) or can_manage(user, segment.team)


def leads_patrol(user: Person | None, event: Event) -> bool:
    """True when the user is the volunteer river chief (志愿者河长) of the segment this patrol event belongs to."""
    if user is None or not getattr(user, "is_authenticated", False) or event.kind != "river_patrol":
        return False
    return bool(fact("leads_patrol", user.id, event.id))


# Patrol reports (patrols/reports/services.py): the adopting team, its river chief and coordinators over the team.


def on_patrol_team(user: User | None, segment: RiverSegment) -> bool:
    """True when the user is affiliated with the segment's adopting team (or a unit inside it)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.organization.is_within(segment.team)


def leads_segment(user: Person | None, segment: RiverSegment) -> bool:
    """True when the user is the segment's volunteer river chief (志愿者河长)."""
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and segment.chief_id is not None
        and segment.chief_id == user.id
    )


def can_follow_up_findings(user: Person | None, segment: RiverSegment) -> bool:
    """Forward and resolve a segment's findings: its river chief and coordinators over the adopting team."""
    return leads_segment(user, segment) or can_manage(user, segment.team)


def can_view_patrol_reports(user: User | None, segment: RiverSegment) -> bool:
    """Read a segment's patrol reports, findings and photos: the adopting team, its river chief, coordinators
    over the team."""
    return can_follow_up_findings(user, segment) or on_patrol_team(user, segment)


def was_on_patrol(user: Person | None, patrol_shift: PatrolShift) -> bool:
    """True when the user attended the patrol or holds a place on it (assigned or completed)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(fact("on_patrol", user.id, patrol_shift.shift_id))


def can_file_patrol_report(user: User | None, patrol_shift: PatrolShift) -> bool:
    """File (and add to) the report of a patrol: team members who attended or were assigned to it, the segment's
    river chief and coordinators over the team."""
    segment = patrol_shift.segment
    if can_follow_up_findings(user, segment):
        return True
    return on_patrol_team(user, segment) and was_on_patrol(user, patrol_shift)


def can_edit_patrol_report(user: User | None, report: PatrolReport) -> bool:
    """Edit a report, its findings and photos: whoever may file the report of that patrol."""
    return can_file_patrol_report(user, report.patrol_shift)


def can_view_patrol_committee(user: Person | None, org: Organization | None) -> bool:
    """The committee view of patrols in a subtree: coordinators, reviewers and administrators over it."""
    return has_role(user, STAFF_ROLES, org)
