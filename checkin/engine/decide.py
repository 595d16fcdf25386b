"""The check-in rules: decide(request, snapshot, rules) -> Decision. Pure: no I/O, no clock, no configuration.

In order (see docs/domain.md):
- a device that sent this client id before is answered with that scan's result (AnswerPrevious);
- an unknown or disabled volunteer, an offline scan from the future (beyond the clock skew) or older than the
  offline bound, an unknown or unpublished event, a kiosk code of another event's shift and a
  badge token accepted at another device (a forwarded screenshot) are refused;
- a scan within `rules.repeat` of the volunteer's last check-in or check-out at the event changes nothing
  (Repeat); an offline scan from another device in that time, or an offline scan older than that last action,
  is a Conflict: recorded, flagged on the attendance, never counted;
- with an open attendance at this event the scan checks out (CheckOut, after the check-in's time, inside a
  refusing fence); open at another event it is refused;
- otherwise it checks in (CheckIn) on the volunteer's assignment (assigned, or completed for a second stay)
  whose check-in window (Event.checkin_opens_minutes before the start until the end) holds the scan's time,
  preferring the shift under way, then the earliest upcoming; with no assignment an event that allows walk-ins
  takes them on an open shift (WalkIn: events.signup.services.walk_in, capacity and the rules still hold);
- geofenced events refuse or flag a check-in from outside the radius (or without a position); a fence of the
  event's shifts (a patrol's segment) does the same at check-in and at check-out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from app.timeutil import to_local
from checkin.engine.geo import inside_geofence
from checkin.engine.request import Rules, ScanRequest
from checkin.engine.snapshot import (
    AssignmentRow,
    AttendanceRow,
    EventRow,
    LoggedScan,
    ShiftRow,
    Snapshot,
)

OPEN = "open"


@dataclass(frozen=True)
class Refuse:
    code: str
    params: dict[str, str] = field(default_factory=dict)
    #: a different wording of the code's message (see checkin.engine.apply)
    wording: str | None = None
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AnswerPrevious:
    scan: LoggedScan


@dataclass(frozen=True)
class Repeat:
    attendance: AttendanceRow


@dataclass(frozen=True)
class Conflict:
    attendance: AttendanceRow
    side: str  # "check_in", "check_out", "inside" or "outside": what the scan disputes


@dataclass(frozen=True)
class CheckOut:
    attendance: AttendanceRow
    outside: bool  # outside a flagging fence of the shift


@dataclass(frozen=True)
class CheckIn:
    assignment: AssignmentRow
    outside: bool  # outside the event's flagging radius or a flagging fence


@dataclass(frozen=True)
class WalkIn:
    shifts: tuple[ShiftRow, ...]  # the open shifts to try, in order
    outside: bool


Decision = Refuse | AnswerPrevious | Repeat | Conflict | CheckOut | CheckIn | WalkIn


def decide(request: ScanRequest, snapshot: Snapshot, rules: Rules) -> Decision:
    """What this scan does, given the snapshot (see the module docstring)."""
    previous = snapshot.previous
    if previous is not None and request.client_scan_id:
        return AnswerPrevious(previous)
    volunteer, event = snapshot.volunteer, snapshot.event
    if volunteer is None or volunteer.is_disabled:  # an imported volunteer not activated yet may still serve
        return Refuse("volunteer_unknown")
    if request.offline and request.at > request.now + rules.clock_skew:
        return Refuse("scan_in_future")
    if request.offline and request.at < request.now - rules.offline_max_age:
        return Refuse("scan_too_old", {"hours": str(int(rules.offline_max_age.total_seconds() // 3600))})
    if event is None or event.status != "published":
        return Refuse("not_allowed")
    if request.shift_id is not None and snapshot.kiosk_shift_event_id != event.id:
        return Refuse("wrong_event")
    if request.token_digest and any(device != request.device_key for device in snapshot.token_devices):
        return Refuse("token_replayed")
    here = [attendance for attendance in snapshot.attendances if attendance.event_id == event.id]
    if here:
        decided = _repeat_or_conflict(request, here, rules)
        if decided is not None:
            return decided
    open_attendance = next((a for a in snapshot.attendances if a.status == OPEN), None)
    if open_attendance is not None:
        if open_attendance.event_id != event.id:
            return Refuse("already_checked_in_elsewhere", {"title": open_attendance.event_title})
        return _check_out(request, snapshot, open_attendance, rules)
    return _check_in(request, snapshot, event, rules)


def _last_action(attendance: AttendanceRow) -> tuple[datetime, str]:
    if attendance.checked_out_at is not None:
        return attendance.checked_out_at, "check_out"
    return attendance.checked_in_at, "check_in"


def _repeat_or_conflict(request: ScanRequest, here: list[AttendanceRow], rules: Rules) -> Decision | None:
    """A repeat or a conflict against the volunteer's last action at this event; None to go on."""
    latest = here[0]
    last_at, last_action = _last_action(latest)
    if abs(request.at - last_at) < rules.repeat:
        device = latest.out_device if last_action == "check_out" else latest.in_device
        if request.offline and device != request.device_key:
            return Conflict(latest, last_action)
        return Repeat(latest)
    if request.at < last_at:  # older than the last action: a device that was offline, or a wrong clock
        attendance, side = _nearest_attendance(request.at, rules.repeat, here)
        return Conflict(attendance or latest, side)
    return None


def _nearest_attendance(
    at: datetime, repeat: timedelta, candidates: Sequence[AttendanceRow]
) -> tuple[AttendanceRow | None, str]:
    """The attendance nearest the scan's time, and what the scan disputes: "check_in" / "check_out" (within the
    repeat window of that end: a coordinator may take its time instead), "inside" (during the stay) or "outside"
    (nowhere near it: only dismissed)."""
    best, best_side, best_gap = None, "check_in", None
    for attendance in candidates:
        end = attendance.checked_out_at
        if attendance.checked_in_at <= at and (end is None or at <= end):
            return attendance, "inside"
        if at < attendance.checked_in_at:
            gap, side = attendance.checked_in_at - at, "check_in"
        else:
            assert end is not None  # an open attendance begun before the scan holds it: "inside" above
            gap, side = at - end, "check_out"
        if best_gap is None or gap < best_gap:
            best, best_side, best_gap = attendance, side, gap
    return best, (best_side if best_gap is not None and best_gap < repeat else "outside")


def _fence_refuses_or_flags(request: ScanRequest, snapshot: Snapshot, rules: Rules) -> Refuse | bool:
    """The fence of the event's shifts: Refuse outside a refusing one, True outside a flagging one, else False."""
    fence = snapshot.fence
    if not request.check_geofence or fence is None:
        return False
    if not fence.is_outside(request.position, allowance_m=rules.accuracy_allowance_m):
        return False
    return Refuse("outside_radius") if fence.mode == "refuse" else True


def _check_out(request: ScanRequest, snapshot: Snapshot, attendance: AttendanceRow, rules: Rules) -> Decision:
    if request.at < attendance.checked_in_at:
        return Refuse("check_out_before_check_in")
    fenced = _fence_refuses_or_flags(request, snapshot, rules)
    if isinstance(fenced, Refuse):
        return fenced
    return CheckOut(attendance, outside=fenced)


_Item = TypeVar("_Item", AssignmentRow, ShiftRow)


def _shift_of(item: AssignmentRow | ShiftRow) -> ShiftRow:
    return item.shift if isinstance(item, AssignmentRow) else item


def _opens(event: EventRow, shift: ShiftRow) -> datetime:
    return shift.starts_at - timedelta(minutes=event.checkin_opens_minutes or 0)


def choose_open(event: EventRow, items: Sequence[_Item], at: datetime) -> list[_Item]:
    """Among items in their check-in window at `at`: the shift under way first, then the earliest upcoming."""
    open_now = [item for item in items if _opens(event, _shift_of(item)) <= at < _shift_of(item).ends_at]
    open_now.sort(
        key=lambda item: (not _shift_of(item).starts_at <= at, _shift_of(item).starts_at, _shift_of(item).id, item.id)
    )  # two assignments on one shift (completed, assigned): the older
    return open_now


def _closed_reason(event: EventRow, shifts: Sequence[ShiftRow], at: datetime) -> Refuse:
    upcoming = [shift for shift in shifts if at < _opens(event, shift)]
    if upcoming:
        opens = min(_opens(event, shift) for shift in upcoming)
        return Refuse("not_open_yet", {"time": to_local(opens).strftime("%Y-%m-%d %H:%M")})
    return Refuse("shift_over")


def _check_in(request: ScanRequest, snapshot: Snapshot, event: EventRow, rules: Rules) -> Decision:
    assignments = list(snapshot.assignments)
    if request.shift_id is not None:
        assignments = [a for a in assignments if a.shift.id == request.shift_id]
    chosen_assignment: AssignmentRow | None = None
    walk_ins: list[ShiftRow] = []
    if assignments:
        chosen = choose_open(event, assignments, request.at)
        if not chosen:
            return _closed_reason(event, [a.shift for a in assignments], request.at)
        chosen_assignment = chosen[0]
    elif event.allow_walk_ins:
        shifts = [shift for shift in snapshot.walk_in_shifts if request.shift_id in (None, shift.id)]
        walk_ins = choose_open(event, shifts, request.at)
        if not walk_ins:
            return _closed_reason(event, shifts, request.at) if shifts else Refuse("no_assignment")
    elif request.method == "badge" and request.shift_id is None:
        return Refuse("wrong_event", wording="not_on_any_shift")
    else:
        return Refuse("no_assignment")
    outside = False
    if request.check_geofence and not inside_geofence(event, request.position, allowance_m=rules.accuracy_allowance_m):
        if event.geofence_mode == "refuse":
            return Refuse("outside_radius")
        outside = True
    fenced = _fence_refuses_or_flags(request, snapshot, rules)
    if isinstance(fenced, Refuse):
        return fenced
    outside = outside or fenced
    if chosen_assignment is not None:
        return CheckIn(chosen_assignment, outside=outside)
    return WalkIn(tuple(walk_ins), outside=outside)
