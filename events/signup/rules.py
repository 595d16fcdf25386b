"""Sign-up rules: who may take which shift, and why not.

`check_rules` answers with every rule a sign-up would break, as `RuleViolation`s
(a machine-readable code and a readable, translated message). The services in
events.signup.services raise the first one as `SignupRefused`; pages and the API show it.
Rules read the database afresh (never cached ORM state) because they run after
the volunteer's row has been locked, see events.signup.services.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.errors import Conflict
from app.extensions import db
from app.timeutil import to_local
from events.models import Assignment, AssignmentStatus, Credential, Event, EventStatus, Shift
from volunteers.accounts.models import User


class RuleViolation(NamedTuple):
    """One broken sign-up rule: `code` for programs, `message` for people."""

    code: str
    message: str


#: every rule code, in the order check_rules reports them
RULE_CODES = (
    "event_not_published",
    "signup_not_open",
    "shift_cancelled",
    "shift_started",
    "already_signed_up",
    "overlap",
    "missing_skill",
    "missing_credential",
    "under_age",
    "too_many_no_shows",
    "shift_full",
)
#: rules a coordinator may override, with a recorded reason; capacity never is
OVERRIDABLE_RULES = frozenset(
    {
        "signup_not_open",
        "shift_started",
        "overlap",
        "missing_skill",
        "missing_credential",
        "under_age",
        "too_many_no_shows",
    }
)


def _format_time(value: datetime) -> str:
    return to_local(value).strftime("%Y-%m-%d %H:%M")


def rule_message(code: str, **params: object) -> str:
    """The readable message of a rule code (translated into the current language)."""
    messages = {
        "event_not_published": lambda: _("This event is not open: it is not published."),
        "signup_not_open": lambda: _("Sign-up for this event is not open at this time."),
        "shift_cancelled": lambda: _("This shift has been cancelled."),
        "shift_started": lambda: _("This shift has already started."),
        "already_signed_up": lambda: _("Already signed up for this shift."),
        "overlap": lambda: _("Overlaps another shift already taken: %(title)s at %(time)s.", **params),
        "missing_skill": lambda: _("This position requires skills not on the profile: %(skills)s.", **params),
        "missing_credential": lambda: _("This position requires valid training: %(credentials)s.", **params),
        "under_age": lambda: _("The minimum age for this position is %(age)s.", **params),
        "too_many_no_shows": lambda: _(
            "Sign-up is paused after %(count)s no-shows in the last %(days)s days.", **params
        ),
        "shift_full": lambda: _("This shift is full."),
    }
    return messages[code]()


def violation(code: str, **params: object) -> RuleViolation:
    """A RuleViolation with its translated message."""
    return RuleViolation(code, rule_message(code, **params))


class SignupRefused(Conflict):
    """A sign-up or assignment broke a rule (409); `.code` is the rule code, `.violation` the whole reason."""

    code = "signup_refused"

    def __init__(self, reason: RuleViolation | str, *, details: dict | None = None, **params: object) -> None:
        self.violation = reason if isinstance(reason, RuleViolation) else violation(reason, **params)
        super().__init__(self.violation.message, code=self.violation.code, details=details)


def no_show_count(volunteer: User, *, now: datetime) -> int:
    """No-shows of the volunteer on shifts that started within the configured window before `now`."""
    since = now - timedelta(days=current_app.config["NO_SHOW_WINDOW_DAYS"])
    return db.session.execute(
        select(func.count(Assignment.id)).where(
            Assignment.user_id == volunteer.id,
            Assignment.status == AssignmentStatus.NO_SHOW.value,
            Assignment.starts_at >= since,
            Assignment.starts_at <= now,
        )
    ).scalar_one()


def overlapping_assignment(
    volunteer: User, starts_at: datetime, ends_at: datetime, *, exclude_shift_ids: tuple[int, ...] = ()
) -> Assignment | None:
    """The volunteer's assigned shift whose [starts_at, ends_at) overlaps the given window, if any.

    Waitlist places do not block: a waitlisted volunteer may take another shift meanwhile,
    and is skipped at promotion if it then overlaps.
    """
    statement = (
        select(Assignment)
        .where(
            Assignment.user_id == volunteer.id,
            Assignment.status == AssignmentStatus.ASSIGNED.value,
            Assignment.starts_at < ends_at,
            Assignment.ends_at > starts_at,
        )
        .order_by(Assignment.starts_at)
        .limit(1)
    )
    if exclude_shift_ids:
        statement = statement.where(Assignment.shift_id.not_in(exclude_shift_ids))
    return db.session.scalar(statement)


def live_assignment(shift: Shift, volunteer: User) -> Assignment | None:
    """The volunteer's assigned or waitlisted assignment on this shift, if any."""
    return db.session.scalar(
        select(Assignment).where(
            Assignment.shift_id == shift.id,
            Assignment.user_id == volunteer.id,
            Assignment.status.in_((AssignmentStatus.ASSIGNED.value, AssignmentStatus.WAITLISTED.value)),
        )
    )


def _missing_credentials(shift: Shift, volunteer: User) -> list[str]:
    required = shift.position.required_credentials
    if not required:
        return []
    valid = set(
        db.session.scalars(
            select(Credential.credential_type_id).where(
                Credential.user_id == volunteer.id,
                Credential.credential_type_id.in_([c.id for c in required]),
                Credential.expires_at.is_(None) | (Credential.expires_at > shift.starts_at),
            )
        )
    )
    return [c.name for c in required if c.id not in valid]


def _signup_window_open(event: Event, now: datetime) -> bool:
    if event.signup_opens_at is not None and now < event.signup_opens_at:
        return False
    return not (event.signup_closes_at is not None and now >= event.signup_closes_at)


def check_rules(
    shift: Shift,
    volunteer: User,
    *,
    now: datetime,
    ignore: set[str] | frozenset[str] = frozenset(),
    exclude_shift_ids: tuple[int, ...] = (),
) -> list[RuleViolation]:
    """Every sign-up rule the volunteer would break by taking this shift now (empty: allowed), minus `ignore`.

    `exclude_shift_ids`: the volunteer's assignments on these shifts do not count as overlaps
    (a move away from them).
    """
    found: list[RuleViolation] = []

    def wants(code: str) -> bool:
        return code not in ignore

    event = shift.event
    position = shift.position
    if wants("event_not_published") and event.status != EventStatus.PUBLISHED.value:
        found.append(violation("event_not_published"))
    if wants("signup_not_open") and not _signup_window_open(event, now):
        found.append(violation("signup_not_open"))
    if wants("shift_cancelled") and shift.is_cancelled:
        found.append(violation("shift_cancelled"))
    if wants("shift_started") and now >= shift.starts_at:
        found.append(violation("shift_started"))
    if wants("already_signed_up") and live_assignment(shift, volunteer) is not None:
        found.append(violation("already_signed_up"))
    if wants("overlap"):
        other = overlapping_assignment(
            volunteer, shift.starts_at, shift.ends_at, exclude_shift_ids=(shift.id, *exclude_shift_ids)
        )
        if other is not None:
            found.append(
                violation(
                    "overlap",
                    title=f"{other.shift.event.title} · {other.shift.position.name}",
                    time=_format_time(other.starts_at),
                )
            )
    if wants("missing_skill"):
        have = {skill.id for skill in volunteer.skills}
        missing = [skill.name for skill in position.required_skills if skill.id not in have]
        if missing:
            found.append(violation("missing_skill", skills="、".join(missing)))
    if wants("missing_credential"):
        missing = _missing_credentials(shift, volunteer)
        if missing:
            found.append(violation("missing_credential", credentials="、".join(missing)))
    shift_day = to_local(shift.starts_at).date()
    if wants("under_age") and position.min_age and volunteer.age_on(shift_day) < position.min_age:
        found.append(violation("under_age", age=position.min_age))
    if wants("too_many_no_shows"):
        limit = current_app.config["NO_SHOW_LIMIT"]
        if limit and no_show_count(volunteer, now=now) >= limit:
            found.append(violation("too_many_no_shows", count=limit, days=current_app.config["NO_SHOW_WINDOW_DAYS"]))
    if wants("shift_full") and shift.assigned_count >= shift.capacity:
        found.append(violation("shift_full"))
    return found
