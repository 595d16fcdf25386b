"""Sign-up and assignment: the one place where volunteers take, leave and are given shifts.

Volunteers sign up themselves (`sign_up`, `cancel_assignment`); coordinators assign,
unassign, move, bulk-assign and mark no-shows with the same rules, and may override
the rules in OVERRIDABLE_RULES only with a recorded reason; capacity is never overridden.
Every service takes the acting user and `now`, flushes and never commits; a refusal
raises an app.errors class and changes nothing that matters. Every change is audited
and told to the volunteer. Concurrency: see events.signup.places.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_fill_quota, can_staff_shift
from events.models import Assignment, AssignmentStatus, Shift, TeamQuota
from events.signup.places import (
    audit,
    free_place,
    lock_shift,
    lock_volunteer,
    set_status,
    snapshot,
    take_place,
    tell,
)
from events.signup.rules import (
    OVERRIDABLE_RULES,
    RULE_CODES,
    RuleViolation,
    SignupRefused,
    check_rules,
    live_assignment,
)
from events.signup.waitlist import promote_waitlist
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

__all__ = [
    "OVERRIDABLE_RULES",
    "RULE_CODES",
    "WALK_IN_IGNORES",
    "BulkResult",
    "RuleViolation",
    "SignupRefused",
    "assign",
    "bulk_assign",
    "cancel_assignment",
    "check_rules",
    "mark_no_show",
    "move",
    "promote_waitlist",
    "sign_up",
    "unassign",
    "walk_in",
]

ASSIGNED = AssignmentStatus.ASSIGNED.value
WAITLISTED = AssignmentStatus.WAITLISTED.value
CANCELLED = AssignmentStatus.CANCELLED.value
LIVE = (ASSIGNED, WAITLISTED)
#: rules a walk-in does not have to meet: it comes when the shift is about to start or under way
#: (capacity still holds: _create refuses a full shift; "already signed up" is the unique index's answer)
WALK_IN_IGNORES = frozenset(
    {"event_not_published", "signup_not_open", "shift_started", "shift_full", "already_signed_up"}
)


class BulkResult(NamedTuple):
    """What bulk_assign did: who was assigned, and who was refused and why."""

    assigned: list[Assignment]
    refused: list[tuple[User, RuleViolation]]


def _refuse(violations: list[RuleViolation]) -> SignupRefused:
    return SignupRefused(violations[0], details={"violations": [v.code for v in violations]})


def _fresh(shift: Shift) -> None:
    """Re-read the shift after locking: capacity, count and cancellation may have changed meanwhile."""
    db.session.refresh(shift, ["capacity", "assigned_count", "is_cancelled", "starts_at", "ends_at"])


def _create(
    shift: Shift,
    volunteer: User,
    *,
    by: User,
    now: datetime,
    source: str,
    waitlist_if_full: bool,
    quota_organization: Organization | None = None,
    override_rule: str = "",
    override_reason: str = "",
) -> Assignment:
    """Take a place (or a waitlist place) and insert the assignment; nothing changes when refused."""
    try:
        with db.session.begin_nested():
            if take_place(shift):
                status = ASSIGNED
            else:
                db.session.refresh(shift, ["is_cancelled"])
                if shift.is_cancelled:
                    raise SignupRefused("shift_cancelled")
                if not waitlist_if_full:
                    offer = {"waitlist_available": True} if source == "self" else None
                    raise SignupRefused("shift_full", details=offer)
                status = WAITLISTED
            assignment = Assignment(
                shift_id=shift.id,
                user_id=volunteer.id,
                starts_at=shift.starts_at,
                ends_at=shift.ends_at,
                status=status,
                source=source,
                quota_organization_id=quota_organization.id if quota_organization else None,
                override_rule=override_rule,
                override_reason=override_reason if override_rule else "",
                created_by_id=by.id,
                created_at=now,
                updated_at=now,
            )
            db.session.add(assignment)
            db.session.flush()
    except IntegrityError:
        raise SignupRefused("already_signed_up") from None
    return assignment


def check_overrides(override_rules: Iterable[str], override_reason: str) -> frozenset[str]:
    """Validate a coordinator's overrides: only OVERRIDABLE_RULES, and only with a reason."""
    overrides = frozenset(override_rules or ())
    not_allowed = sorted(overrides - OVERRIDABLE_RULES)
    if not_allowed:
        raise ValidationFailed(
            _("These rules cannot be overridden: %(rules)s.", rules=", ".join(not_allowed)),
            code="not_overridable",
            field="override_rules",
        )
    if overrides and not (override_reason or "").strip():
        raise ValidationFailed(
            _("Give a reason for overriding the sign-up rules."),
            code="override_reason_required",
            field="override_reason",
        )
    return overrides


def _split(violations: list[RuleViolation], overrides: frozenset[str]) -> tuple[list[RuleViolation], str]:
    """(violations still blocking, comma-separated codes actually overridden)."""
    blocking = [v for v in violations if v.code not in overrides]
    overridden = ",".join(v.code for v in violations if v.code in overrides)
    return blocking, overridden


def sign_up(shift: Shift, volunteer: User, *, now: datetime, join_waitlist: bool = False) -> Assignment:
    """Self sign-up: take a place on the shift, or join its waitlist when it is full and the volunteer asks to."""
    lock_volunteer(volunteer)
    _fresh(shift)
    violations = check_rules(shift, volunteer, now=now, ignore={"shift_full"})
    if violations:
        raise _refuse(violations)
    assignment = _create(shift, volunteer, by=volunteer, now=now, source="self", waitlist_if_full=join_waitlist)
    waitlisted = assignment.status == WAITLISTED
    audit("assignment.waitlist" if waitlisted else "assignment.sign_up", assignment, by=volunteer, now=now)
    tell(assignment, "waitlisted" if waitlisted else "assigned", now=now)
    return assignment


def walk_in(shift: Shift, volunteer: User, *, by: User, now: datetime) -> Assignment:
    """Assign a volunteer who turns up at a shift of an event that allows walk-ins (the check-in scan).

    The position's rules hold (skills, credentials, age, overlap, no-shows) and so does capacity;
    the sign-up window and "already started" do not. The caller holds the volunteer's lock
    (events.signup.places.lock_volunteer) and its own savepoint. Raises SignupRefused: a rule's code with
    details["violations"], or shift_full / shift_cancelled / already_signed_up without.
    """
    violations = check_rules(shift, volunteer, now=now, ignore=WALK_IN_IGNORES)
    if violations:
        raise _refuse(violations)
    assignment = _create(shift, volunteer, by=by, now=now, source="walk_in", waitlist_if_full=False)
    audit("assignment.walk_in", assignment, by=by, now=now)
    tell(assignment, "assigned", now=now)
    return assignment


def cancellation_deadline(shift: Shift) -> datetime:
    """Volunteers may cancel their own place until this time (the event's cut-off before the shift starts)."""
    return shift.starts_at - timedelta(hours=shift.event.cancel_cutoff_hours)


def _can_release(by: User, assignment: Assignment) -> bool:
    """Staff of the event, or the coordinator of the team whose quota the assignment fills."""
    if can_staff_shift(by, assignment.shift):
        return True
    team = assignment.quota_organization
    return team is not None and can_fill_quota(by, assignment.shift.position, team, assignment.user)


def _release(assignment: Assignment, *, by: User, now: datetime, reason: str, action: str, kind: str) -> Assignment:
    """Cancel a live assignment, give its place back and promote from the waitlist."""
    before = snapshot(assignment)
    was_assigned = assignment.status == ASSIGNED
    if not set_status(assignment, LIVE, CANCELLED, now=now, cancelled_at=now):
        raise Conflict(_("This assignment is no longer active."), code="not_active")
    shift = assignment.shift
    if was_assigned:
        free_place(shift)
    audit(action, assignment, by=by, now=now, before=before, note=reason)
    tell(assignment, kind, now=now, reason=reason)
    if was_assigned:
        promote_waitlist(shift, now=now)
    return assignment


def cancel_assignment(assignment: Assignment, *, by: User, now: datetime, reason: str = "") -> Assignment:
    """Cancel a place: the volunteer before the cut-off (a waitlist place any time); staff any time, with a reason."""
    reason = (reason or "").strip()
    if assignment.status not in LIVE:
        raise Conflict(_("This assignment is no longer active."), code="not_active")
    own = by.id == assignment.user_id
    if own and (assignment.status == WAITLISTED or now < cancellation_deadline(assignment.shift)):
        return _release(assignment, by=by, now=now, reason=reason, action="assignment.cancel", kind="cancelled")
    if _can_release(by, assignment):
        if not reason:
            raise ValidationFailed(_("Give a reason for the cancellation."), code="reason_required", field="reason")
        return _release(assignment, by=by, now=now, reason=reason, action="assignment.cancel", kind="cancelled")
    if own:
        raise Conflict(
            _(
                "Too late to cancel: cancellations close %(hours)s hours before the shift starts.",
                hours=assignment.shift.event.cancel_cutoff_hours,
            ),
            code="cancel_cutoff_passed",
        )
    raise PermissionDenied(_("You may not cancel this assignment."))


def unassign(assignment: Assignment, *, by: User, now: datetime, reason: str) -> Assignment:
    """A coordinator takes a volunteer off a shift (or its waitlist), with a reason."""
    if not _can_release(by, assignment):
        raise PermissionDenied(_("You may not change the staffing of this shift."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Give a reason for taking the volunteer off the shift."), code="reason_required", field="reason"
        )
    if assignment.status not in LIVE:
        raise Conflict(_("This assignment is no longer active."), code="not_active")
    return _release(assignment, by=by, now=now, reason=reason, action="assignment.unassign", kind="unassigned")


def _check_assigner(by: User, shift: Shift, volunteer: User, quota_organization: Organization | None) -> bool:
    """Raise unless `by` may assign this volunteer here; True when `by` acts only as a team coordinator."""
    if can_staff_shift(by, shift):
        if quota_organization is not None:
            has_quota = db.session.scalar(
                select(TeamQuota.id).where(
                    TeamQuota.position_id == shift.position_id, TeamQuota.organization_id == quota_organization.id
                )
            )
            if has_quota is None:
                raise ValidationFailed(
                    _("This team has no quota for this position."), code="no_quota", field="quota_organization"
                )
            if not volunteer.organization.is_within(quota_organization):
                raise ValidationFailed(
                    _("The volunteer is not a member of this team."), code="not_team_member", field="quota_organization"
                )
        return False
    if quota_organization is not None and can_fill_quota(by, shift.position, quota_organization, volunteer):
        return True
    raise PermissionDenied(_("You may not assign this volunteer to this shift."))


def _check_quota_room(shift: Shift, team: Organization) -> None:
    """A team coordinator fills at most the team's quota on each shift."""
    quantity = db.session.scalar(
        select(TeamQuota.quantity).where(
            TeamQuota.position_id == shift.position_id, TeamQuota.organization_id == team.id
        )
    )
    filled = db.session.execute(
        select(func.count(Assignment.id)).where(
            Assignment.shift_id == shift.id, Assignment.quota_organization_id == team.id, Assignment.status == ASSIGNED
        )
    ).scalar_one()
    if filled >= (quantity or 0):
        raise Conflict(
            _("The team's quota for this shift is already filled (%(quantity)s).", quantity=quantity),
            code="quota_filled",
        )


def assign(
    shift: Shift,
    volunteer: User,
    *,
    by: User,
    now: datetime,
    override_rules: Iterable[str] = frozenset(),
    override_reason: str = "",
    quota_organization: Organization | None = None,
    source: str = "coordinator",
) -> Assignment:
    """A coordinator (or a team's coordinator filling its quota) puts a volunteer on a shift; same rules as sign-up."""
    as_team = _check_assigner(by, shift, volunteer, quota_organization)
    overrides = check_overrides(override_rules, override_reason)
    override_reason = (override_reason or "").strip()
    lock_volunteer(volunteer)
    _fresh(shift)
    if as_team:
        assert quota_organization is not None  # acting as a team coordinator means filling this team's quota
        _check_quota_room(shift, quota_organization)
        source = "team" if source == "coordinator" else source
    existing = live_assignment(shift, volunteer)
    if existing is not None and existing.status == ASSIGNED:
        raise SignupRefused("already_signed_up")
    blocking, overridden = _split(
        check_rules(shift, volunteer, now=now, ignore={"shift_full", "already_signed_up"}), overrides
    )
    if blocking:
        raise _refuse(blocking)
    if existing is None:
        assignment = _create(
            shift,
            volunteer,
            by=by,
            now=now,
            source=source,
            waitlist_if_full=False,
            quota_organization=quota_organization,
            override_rule=overridden,
            override_reason=override_reason,
        )
        before = None
    else:  # a waitlisted volunteer: the coordinator gives them a place now
        assignment, before = existing, snapshot(existing)
        with db.session.begin_nested():
            if not take_place(shift):
                raise SignupRefused("shift_full")
            if not set_status(
                existing,
                (WAITLISTED,),
                ASSIGNED,
                now=now,
                source=source,
                created_by_id=by.id,
                quota_organization_id=quota_organization.id if quota_organization else None,
                override_rule=overridden,
                override_reason=override_reason if overridden else "",
            ):
                raise Conflict(_("This assignment is no longer active."), code="not_active")
    audit(
        "assignment.assign",
        assignment,
        by=by,
        now=now,
        before=before,
        note=f"override {overridden}: {override_reason}" if overridden else "",
    )
    tell(assignment, "assigned", now=now)
    return assignment


def move(
    assignment: Assignment,
    to_shift: Shift,
    *,
    by: User,
    now: datetime,
    override_rules: Iterable[str] = frozenset(),
    override_reason: str = "",
) -> Assignment:
    """A coordinator moves a volunteer to another shift (same rules as sign-up); returns the new assignment."""
    from_shift = assignment.shift
    if not (can_staff_shift(by, from_shift) and can_staff_shift(by, to_shift)):
        raise PermissionDenied(_("You may not change the staffing of this shift."))
    if to_shift.id == from_shift.id:
        raise ValidationFailed(_("Choose a different shift."), code="same_shift", field="to_shift")
    overrides = check_overrides(override_rules, override_reason)
    override_reason = (override_reason or "").strip()
    volunteer = assignment.user
    lock_volunteer(volunteer)
    # two shift rows: always take them in id order, so two opposite moves cannot deadlock
    for shift in sorted((from_shift, to_shift), key=lambda s: s.id):
        lock_shift(shift)
    _fresh(to_shift)
    blocking, overridden = _split(
        check_rules(to_shift, volunteer, now=now, ignore={"shift_full"}, exclude_shift_ids=(from_shift.id,)), overrides
    )
    if blocking:
        raise _refuse(blocking)
    before = snapshot(assignment)
    was_assigned = assignment.status == ASSIGNED
    with db.session.begin_nested():
        if not set_status(assignment, LIVE, CANCELLED, now=now, cancelled_at=now):
            raise Conflict(_("This assignment is no longer active."), code="not_active")
        same_position = to_shift.position_id == from_shift.position_id
        moved = _create(
            to_shift,
            volunteer,
            by=by,
            now=now,
            source="coordinator",
            waitlist_if_full=False,
            quota_organization=assignment.quota_organization if same_position else None,
            override_rule=overridden,
            override_reason=override_reason,
        )
    if was_assigned:
        free_place(from_shift)
    audit("assignment.move", assignment, by=by, now=now, before=before, note=f"moved to shift {to_shift.id}")
    audit(
        "assignment.assign",
        moved,
        by=by,
        now=now,
        before={"moved_from_assignment_id": assignment.id},
        note=f"override {overridden}: {override_reason}" if overridden else "",
    )
    tell(moved, "moved", now=now, from_shift_start=from_shift.starts_at.isoformat())
    if was_assigned:
        promote_waitlist(from_shift, now=now)
    return moved


def bulk_assign(
    shift: Shift,
    volunteers: Iterable[User],
    *,
    by: User,
    now: datetime,
    override_rules: Iterable[str] = frozenset(),
    override_reason: str = "",
) -> BulkResult:
    """Assign many volunteers to a shift, each independently; once it is full the rest are refused (shift_full)."""
    volunteers = list(volunteers)
    if not can_staff_shift(by, shift):
        raise PermissionDenied(_("You may not change the staffing of this shift."))
    check_overrides(override_rules, override_reason)
    # take every volunteer's row first, in id order: no deadlock with their own sign-ups or another bulk
    for volunteer in sorted({v.id: v for v in volunteers}.values(), key=lambda v: v.id):
        lock_volunteer(volunteer)
    result = BulkResult([], [])
    full = False
    for volunteer in volunteers:
        if full:
            result.refused.append((volunteer, SignupRefused("shift_full").violation))
            continue
        try:
            with db.session.begin_nested():
                result.assigned.append(
                    assign(
                        shift, volunteer, by=by, now=now, override_rules=override_rules, override_reason=override_reason
                    )
                )
        except SignupRefused as refused:
            result.refused.append((volunteer, refused.violation))
            full = refused.code == "shift_full"
        except DomainError as error:
            result.refused.append((volunteer, RuleViolation(error.code, error.message)))
    return result


def mark_no_show(assignment: Assignment, *, by: User, now: datetime) -> Assignment:
    """A coordinator records that an assigned volunteer did not come (counts towards the no-show limit)."""
    shift = assignment.shift
    if not can_staff_shift(by, shift):
        raise PermissionDenied(_("You may not change the staffing of this shift."))
    if now < shift.starts_at:
        raise Conflict(_("A no-show can be recorded only once the shift has started."), code="shift_not_started")
    before = snapshot(assignment)
    # the place stays taken: a no-show held it (see events.signup.places)
    if not set_status(assignment, (ASSIGNED,), AssignmentStatus.NO_SHOW.value, now=now):
        raise Conflict(_("Only an assigned volunteer can be marked as a no-show."), code="not_assigned")
    audit("assignment.no_show", assignment, by=by, now=now, before=before)
    tell(assignment, "no_show", now=now)
    return assignment
