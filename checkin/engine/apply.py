"""apply_scan: a scan request -> its snapshot -> the decision -> the write -> its ScanResult (or ScanRefused, logged).

Every refusal is decided before anything is written, so a refusal needs no savepoint: its scan-log row is the
only write. A change that the database may still refuse (a unique index: a concurrent scan of the same device and
client id, or an open attendance made without the volunteer's lock) runs in a savepoint unless the scan is its
caller's whole transaction (ScanRequest.alone), which is then rolled back whole. A walk-in creates its assignment
through events.signup.services (capacity and the position's rules hold) in a savepoint, before the check-in.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from checkin.engine import write
from checkin.engine.decide import (
    AnswerPrevious,
    CheckIn,
    CheckOut,
    Conflict,
    Decision,
    Refuse,
    Repeat,
    WalkIn,
    decide,
)
from checkin.engine.request import Rules, ScanRequest
from checkin.engine.result import (
    ScanResult,
    check_in_message,
    check_out_message,
    flags_of,
    minutes_between,
    of_attendance,
    of_logged,
)
from checkin.engine.snapshot import (
    ACCEPTED,
    AttendanceRow,
    LoggedScan,
    ShiftRow,
    Snapshot,
    VolunteerRow,
    read_snapshot,
)
from checkin.refusals import ScanRefused
from events.models import Assignment, Shift
from events.signup.services import SignupRefused, walk_in
from events.training.credentials import grant_training_credential
from volunteers.accounts.models import User

#: the wordings a decision may ask for instead of a code's own message
WORDINGS = {"not_on_any_shift": lambda: _("This volunteer is not on any shift of this event.")}


def apply_scan(request: ScanRequest) -> ScanResult:
    """Apply one scan (see the module docstring); raises ScanRefused after logging the refusal."""
    snapshot = read_snapshot(request)
    decision = decide(request, snapshot, Rules.of(current_app.config))
    return _carry_out(request, snapshot, decision)


def refuse(request: ScanRequest, refused: ScanRefused, *, volunteer: VolunteerRow | None = None) -> ScanRefused:
    """Log a refusal found before the engine's rules (a bad token, a scan too old) and return it to raise.

    A device that re-sends a refused scan meets its first row (same device and client id): the first one stays."""
    scan_id = write.log_refusal(request, refused.code)
    refused.logged = ScanResult(
        action="none",
        result="refused",
        at=request.at,
        message=refused.message,
        volunteer=volunteer,
        flags=flags_of(offline=request.offline),
        scan_id=scan_id,
        event_id=request.event_id,
        code=refused.code,
    )
    return refused


def answer_logged(scan: LoggedScan, *, now: datetime) -> ScanResult:
    """Answer a re-sent scan with its first result: the same ScanResult, or the same refusal raised again."""
    if scan.result in ACCEPTED:
        return of_logged(scan, now=now)
    refused = ScanRefused(scan.result)
    refused.logged = ScanResult(
        action="none",
        result="refused",
        at=scan.scanned_at,
        message=refused.message,
        volunteer=scan.volunteer,
        flags=flags_of(offline=scan.offline),
        scan_id=scan.id,
        event_id=scan.event_id,
        code=scan.result,
    )
    raise refused


def previous_result(device_id: str | None, client_scan_id: str | None, *, now: datetime) -> ScanResult | None:
    """A re-sent scan's first result (raises its ScanRefused again), or None when this device never sent it."""
    if not device_id or not client_scan_id:
        return None
    probe = ScanRequest(
        method="badge",
        event_id=None,
        volunteer_id=None,
        at=now,
        now=now,
        by_id=0,
        device_id=device_id,
        client_scan_id=client_scan_id,
    )
    previous = read_snapshot(probe).previous
    return None if previous is None else answer_logged(previous, now=now)


def _refused(request: ScanRequest, snapshot: Snapshot, decision: Refuse) -> ScanRefused:
    wording = WORDINGS[decision.wording]() if decision.wording else None
    refused = ScanRefused(decision.code, wording, details=decision.details or None, **decision.params)
    volunteer = snapshot.volunteer  # the log names only a volunteer that exists
    return refuse(replace(request, volunteer_id=volunteer.id if volunteer else None), refused, volunteer=volunteer)


def _guarded(request: ScanRequest) -> AbstractContextManager[object]:
    """A savepoint around the write, unless the scan is its caller's whole transaction."""
    return nullcontext() if request.alone or request.batched else db.session.begin_nested()


def _carry_out(request: ScanRequest, snapshot: Snapshot, decision: Decision) -> ScanResult:
    if isinstance(decision, AnswerPrevious):
        return answer_logged(decision.scan, now=request.now)
    if isinstance(decision, Refuse):
        raise _refused(request, snapshot, decision)
    try:
        if isinstance(decision, Repeat | Conflict):
            return _repeat_or_conflict(request, snapshot, decision)
        if isinstance(decision, CheckOut):
            return _check_out(request, snapshot, decision)
        return _check_in(request, snapshot, decision)
    except IntegrityError:
        # the same (device, client id) was applied meanwhile, or (the partial unique index) an open check-in exists
        if request.batched:
            raise  # the batch is rolled back and applied again with savepoints
        if request.alone:
            db.session.rollback()  # the whole transaction: the scan was all of it
        previous = previous_result(request.device_id, request.client_scan_id, now=request.now)
        if previous is not None:
            return previous
        # logged without the device's client id: that (device, client id) is not this refusal's
        raise refuse(
            replace(request, device_id=None, client_scan_id=None),
            ScanRefused("already_checked_in_elsewhere"),
            volunteer=snapshot.volunteer,
        ) from None


def _repeat_or_conflict(request: ScanRequest, snapshot: Snapshot, decision: Repeat | Conflict) -> ScanResult:
    attendance = decision.attendance
    with _guarded(request):
        if isinstance(decision, Conflict):
            scan_id = write.conflict(request, attendance, side=decision.side)
        else:
            scan_id = write.log_scan(request, action="none", result="repeat", attendance_id=attendance.id)
    return of_attendance(
        attendance,
        action="none",
        result="conflict" if isinstance(decision, Conflict) else "repeat",
        at=request.at,
        now=request.now,
        volunteer=snapshot.volunteer,
        scan_id=scan_id,
        offline=request.offline,
        conflict=isinstance(decision, Conflict),
    )


def _check_out(request: ScanRequest, snapshot: Snapshot, decision: CheckOut) -> ScanResult:
    attendance = decision.attendance
    with _guarded(request):
        scan_id = write.check_out(request, attendance, outside=decision.outside)
    if scan_id is None:  # the forgotten-check-out job marked it meanwhile
        raise _refused(request, snapshot, Refuse("shift_over"))
    event = snapshot.event
    if event is not None and event.grants_credential:
        _grant_credential(attendance, now=request.now)
    minutes = minutes_between(attendance.checked_in_at, request.at)
    return ScanResult(
        action="check_out",
        result="ok",
        at=request.at,
        message=check_out_message(request.at, minutes),
        volunteer=snapshot.volunteer,
        shift=attendance.shift,
        position_name=attendance.shift.position_name,
        duration_minutes=minutes,
        flags=flags_of(
            offline=attendance.offline or request.offline,
            outside_radius=attendance.outside_radius or decision.outside,
            conflict=attendance.conflict,
        ),
        attendance_id=attendance.id,
        scan_id=scan_id,
        event_id=attendance.event_id,
    )


def _grant_credential(attendance: AttendanceRow, *, now: datetime) -> None:
    """A course's completed shift grants its credential (events.training.credentials)."""
    assignment = db.session.get(Assignment, attendance.assignment_id, populate_existing=True)
    if assignment is not None and assignment.status == "completed":
        grant_training_credential(assignment, now=now)


def _check_in(request: ScanRequest, snapshot: Snapshot, decision: CheckIn | WalkIn) -> ScanResult:
    if isinstance(decision, WalkIn):
        with db.session.begin_nested():
            taken = _walk_in(request, decision)
            if not isinstance(taken, Refuse):
                assignment_id, shift = taken
                attendance_id, scan_id = write.check_in(
                    request, assignment_id=assignment_id, shift_id=shift.id, outside=decision.outside
                )
        if isinstance(taken, Refuse):  # logged once the savepoint is gone
            raise _refused(request, snapshot, taken)
    else:
        shift = decision.assignment.shift
        with _guarded(request):
            attendance_id, scan_id = write.check_in(
                request, assignment_id=decision.assignment.id, shift_id=shift.id, outside=decision.outside
            )
    return ScanResult(
        action="check_in",
        result="ok",
        at=request.at,
        message=check_in_message(request.at, shift.position_name),
        volunteer=snapshot.volunteer,
        shift=shift,
        position_name=shift.position_name,
        duration_minutes=0,
        flags=flags_of(offline=request.offline, outside_radius=decision.outside),
        attendance_id=attendance_id,
        scan_id=scan_id,
        event_id=request.event_id,
    )


def _walk_in(request: ScanRequest, decision: WalkIn) -> tuple[int, ShiftRow] | Refuse:
    """The walk-in's new assignment on the first open shift that takes them (capacity and rules hold), or why
    none did."""
    volunteer, by = db.session.get(User, request.volunteer_id), db.session.get(User, request.by_id)
    assert volunteer is not None and by is not None  # the snapshot found the volunteer; the caller is signed in
    refusal: Refuse | None = None
    for row in decision.shifts:
        shift = db.session.get(Shift, row.id)
        assert shift is not None  # the snapshot read it under the volunteer's lock; shifts are not deleted
        try:
            with db.session.begin_nested():
                assignment = walk_in(shift, volunteer, by=by, now=request.now)
            return assignment.id, row
        except SignupRefused as refused:
            if refused.code == "shift_full":
                refusal = Refuse("shift_full")
            elif "violations" in refused.details:  # this shift's rules: another open shift may take them
                refusal = refusal or Refuse("walk_in_refused", {"reason": refused.message}, details=refused.details)
            else:
                return Refuse("walk_in_refused", {"reason": refused.message})
    return refusal or Refuse("shift_full")
