"""Which assignment a check-in is for: the shift under way, else the earliest upcoming, or a walk-in's new one.

A shift is open for check-in from Event.checkin_opens_minutes before its start until its end.
The volunteer's assignments that count are assigned ones, and completed ones (a second stay on
the same shift, e.g. back from lunch). Events that allow walk-ins create the assignment through
events.signup.services's own insert, so capacity holds, and the position's rules (skills, credentials,
age, overlap, no-shows) still apply; only the sign-up window and "already started" do not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.timeutil import to_local
from checkin.refusals import ScanRefused
from events.models import Assignment, AssignmentStatus, Event, Shift
from events.signup.services import SignupRefused, walk_in

if TYPE_CHECKING:
    from checkin.scanning.engine import ScanRequest

ASSIGNED = AssignmentStatus.ASSIGNED.value
COMPLETED = AssignmentStatus.COMPLETED.value


class CheckinWindow(Protocol):
    """What the choice reads of an event (an Event, or the express lane's row of one)."""

    @property
    def checkin_opens_minutes(self) -> int | None: ...


class TimedShift(Protocol):
    """What the choice reads of a shift (a Shift, or the express lane's row of one)."""

    @property
    def id(self) -> int: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


_Item = TypeVar("_Item", bound=_HasId)


def _window(event: CheckinWindow, shift: TimedShift) -> tuple[datetime, datetime]:
    return shift.starts_at - timedelta(minutes=event.checkin_opens_minutes or 0), shift.ends_at


def choose_open(
    event: CheckinWindow, items: Sequence[_Item], shift_of: Callable[[_Item], TimedShift], at: datetime
) -> list[_Item]:
    """Among items in their check-in window at `at`: the shift under way first, then the earliest upcoming."""
    open_now = [item for item in items if _window(event, shift_of(item))[0] <= at < shift_of(item).ends_at]
    open_now.sort(
        key=lambda item: (not shift_of(item).starts_at <= at, shift_of(item).starts_at, shift_of(item).id, item.id)
    )  # two assignments on one shift (completed, assigned): the older
    return open_now


def _closed_reason(event: Event, shifts: Sequence[Shift], at: datetime) -> ScanRefused:
    upcoming = [shift for shift in shifts if at < _window(event, shift)[0]]
    if upcoming:
        opens = min(_window(event, shift)[0] for shift in upcoming)
        return ScanRefused("not_open_yet", time=to_local(opens).strftime("%Y-%m-%d %H:%M"))
    return ScanRefused("shift_over")


def pick_assignment(request: ScanRequest) -> Assignment:
    """The assignment this check-in is for (creating a walk-in's), or the reason there is none."""
    event = request.event
    statement = (
        select(Assignment)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(
            Assignment.user_id == request.volunteer.id,
            Shift.event_id == event.id,
            Assignment.status.in_((ASSIGNED, COMPLETED)),
            Shift.is_cancelled.is_(False),
        )
        .options(contains_eager(Assignment.shift).joinedload(Shift.position))  # the answer names it
        .order_by(Shift.starts_at, Shift.id)
        .execution_options(populate_existing=True)
    )
    assignments = db.session.scalars(statement).all()
    if request.shift_id is not None:
        assignments = [a for a in assignments if a.shift_id == request.shift_id]
    if assignments:
        chosen = choose_open(event, assignments, lambda a: a.shift, request.at)
        if chosen:
            return chosen[0]
        raise _closed_reason(event, [a.shift for a in assignments], request.at)
    if event.allow_walk_ins:
        return _walk_in(request)
    if request.method == "badge" and request.shift_id is None:
        raise ScanRefused("wrong_event", _("This volunteer is not on any shift of this event."))
    raise ScanRefused("no_assignment")


def _walk_in(request: ScanRequest) -> Assignment:
    """Create the walk-in's assignment on an open shift with room (events.signup.services.walk_in: capacity holds)."""
    event, volunteer = request.event, request.volunteer
    statement = select(Shift).where(Shift.event_id == event.id, Shift.is_cancelled.is_(False))
    if request.shift_id is not None:
        statement = statement.where(Shift.id == request.shift_id)
    shifts = db.session.scalars(statement.order_by(Shift.starts_at, Shift.id)).all()
    chosen = choose_open(event, shifts, lambda s: s, request.at)
    if not chosen:
        raise _closed_reason(event, shifts, request.at) if shifts else ScanRefused("no_assignment")
    refusal: ScanRefused | None = None
    for shift in chosen:
        try:
            return walk_in(shift, volunteer, by=request.by, now=request.now)
        except SignupRefused as refused:
            if refused.code == "shift_full":
                refusal = ScanRefused("shift_full")
            elif "violations" in refused.details:  # this shift's rules: another open shift may take them
                refusal = refusal or ScanRefused("walk_in_refused", reason=refused.message, details=refused.details)
            else:
                raise ScanRefused("walk_in_refused", reason=refused.message) from None
    raise refusal or ScanRefused("shift_full")
