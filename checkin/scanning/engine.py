"""The scan engine: one scan of one volunteer at one event becomes a check-in, a check-out, a repeat,
a flagged conflict or a refusal, and is written to the scan log either way.

Rules (see docs/domain.md and docs/checkin.md):
- the volunteer's row is taken first (events.signup.places.lock_volunteer), so one volunteer's scans run one
  at a time on both databases; the partial unique index on open attendances is the backstop;
- a scan within CHECKIN_REPEAT_SECONDS of the volunteer's last check-in or check-out at the event
  changes nothing ("repeat"); an offline scan from another device in that time, or an offline scan
  older than that last action, is a "conflict": recorded, flagged on the attendance, never counted;
- with an open attendance at this event the scan checks out; open at another event it is refused;
- otherwise it checks in on the volunteer's assignment (assigned, or completed for a second stay)
  whose check-in window (Event.checkin_opens_minutes before the start until the end) holds the
  scan's time, preferring the shift under way, then the earliest upcoming; events that allow walk-ins
  create the assignment (events.signup.services, capacity and the volunteer rules still hold);
- geofenced events refuse or flag a check-in from outside the radius (or without a position);
- closing an attendance completes its assignment and grants a course's credential.
Everything a scan changes happens in a savepoint: a refusal rolls it back, then logs the refusal. A
scan that is the whole transaction (ScanRequest.alone: a live scan its caller commits at once) skips
the savepoint unless the event allows walk-ins: no rule refuses after it changed something, and a
database conflict rolls the whole transaction back instead.
A live scan costs few statements: the volunteer is loaded and locked in one (UPDATE ... RETURNING),
the device's earlier scan and the token's accepted uses in one, the volunteer's attendances in one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db, rowcount
from app.timeutil import to_local
from checkin.models import Attendance, AttendanceStatus, Scan
from checkin.refusals import ScanRefused
from checkin.scanning.geo import Position, has_geofence, inside_geofence
from checkin.scanning.geofence import check_in_outside, check_out_fence  # fences of other areas' shifts (patrols)
from checkin.scanning.results import scan_answer
from checkin.scanning.shift_choice import pick_assignment
from events.models import Assignment, AssignmentStatus, Event, EventStatus, GeofenceMode, Shift
from events.signup.places import lock_volunteer, set_status
from events.training.credentials import grant_training_credential
from volunteers.accounts.models import User

OPEN = AttendanceStatus.OPEN.value
CLOSED = AttendanceStatus.CLOSED.value
VOIDED = AttendanceStatus.VOIDED.value
ASSIGNED = AssignmentStatus.ASSIGNED.value
COMPLETED = AssignmentStatus.COMPLETED.value
#: scan results that were accepted (a token seen in one of them counts as used)
ACCEPTED = ("ok", "repeat", "conflict")


@dataclass
class ScanResult:
    """What a scan did, for the confirmation screen and the API."""

    action: str  # "check_in", "check_out" or "none"
    result: str  # "ok", "repeat", "conflict"; "refused" only in sync_offline_scans results
    attendance: Attendance | None
    volunteer: User | None
    shift: Shift | None
    position_name: str
    at: datetime  # the scan's time (an offline scan's original time)
    duration_minutes: int | None  # running (open) or final (closed)
    flags: list[str] = field(default_factory=list)  # "outside_radius", "offline", "conflict"
    message: str = ""
    code: str | None = None  # the refusal code when result == "refused"
    scan: Scan | None = None
    event: Event | None = None

    @property
    def accepted(self) -> bool:
        return self.result != "refused"

    def to_dict(self) -> dict:
        """A JSON-ready summary (times in ISO 8601 UTC): the scan's answer (checkin.scanning.results) without the
        API's client id and `ok`, with the scan log row's id and the volunteer's id and name."""
        answer = scan_answer(self)
        volunteer = answer["volunteer"]
        del answer["client_scan_id"], answer["ok"]
        return {
            **answer,
            "code": self.code,
            "scan_id": self.scan.id if self.scan else None,
            "volunteer": {"id": volunteer["id"], "name": volunteer["name"]} if volunteer else None,
        }


@dataclass
class ScanRequest:
    """One scan to apply: who, where, when, how, from which device."""

    method: str  # checkin.models.ScanMethod value
    event: Event
    volunteer: User
    at: datetime
    now: datetime
    by: User
    device_id: str | None = None
    client_scan_id: str | None = None
    offline: bool = False
    position: Position | None = None
    shift_id: int | None = None  # a shift's kiosk: only this shift
    token_digest: str | None = None
    note: str = ""
    check_geofence: bool = True
    #: the volunteer's row is already locked (events.signup.places.lock_and_load_volunteer)
    locked: bool = False
    #: the scan is its caller's whole transaction, committed at once (see the module docstring)
    alone: bool = False

    @property
    def device_key(self) -> str:
        return self.device_id or f"by:{self.by.id}"


def _config(name: str) -> int:
    return int(current_app.config[name])


def _time(value: datetime) -> str:
    return to_local(value).strftime("%H:%M")


def _minutes(start: datetime, end: datetime) -> int:
    return max(int((end - start).total_seconds() // 60), 0)


def _flags(attendance: Attendance | None, offline: bool = False) -> list[str]:
    flags = []
    if attendance is not None and attendance.outside_radius:
        flags.append("outside_radius")
    if offline or (attendance is not None and attendance.offline):
        flags.append("offline")
    if attendance is not None and attendance.conflict:
        flags.append("conflict")
    return flags


def check_in_message(at: datetime, position: str) -> str:
    """The confirmation of a check-in (also api.express's)."""
    return _("Checked in at %(time)s: %(position)s.", time=_time(at), position=position)


def build_result(scan: Scan, *, now: datetime) -> ScanResult:
    """The ScanResult of a logged accepted scan (also what a re-sent scan answers)."""
    attendance = scan.attendance
    shift = attendance.shift if attendance is not None else None
    volunteer = db.session.get(User, scan.user_id) if scan.user_id else None
    duration = None
    if attendance is not None:
        end = attendance.checked_out_at or (None if attendance.status != OPEN else max(now, scan.scanned_at))
        duration = _minutes(attendance.checked_in_at, end) if end else None
    position = shift.position.name if shift is not None else ""
    if scan.result == "conflict":
        message = _("Also scanned on another device: flagged for the coordinator, not counted twice.")
    elif scan.result == "repeat":
        message = (
            _("Already checked out at %(time)s.", time=_time(attendance.checked_out_at))
            if attendance is not None and attendance.checked_out_at
            else _(
                "Already checked in at %(time)s.",
                time=_time(attendance.checked_in_at if attendance else scan.scanned_at),
            )
        )
    elif scan.action == "check_out":
        message = _(
            "Checked out at %(time)s after %(minutes)s minutes.", time=_time(scan.scanned_at), minutes=duration or 0
        )
    else:
        message = check_in_message(scan.scanned_at, position)
    return ScanResult(
        action=scan.action,
        result=scan.result,
        attendance=attendance,
        volunteer=volunteer,
        shift=shift,
        position_name=position,
        at=scan.scanned_at,
        duration_minutes=duration,
        flags=_flags(attendance, scan.offline),
        message=message,
        scan=scan,
        event=db.session.get(Event, scan.event_id) if scan.event_id else None,
    )


def previous_scan(device_id: str | None, client_scan_id: str | None) -> Scan | None:
    """The scan a device already sent with this id, if any (offline sync and API idempotency)."""
    if not device_id or not client_scan_id:
        return None
    return db.session.scalar(
        select(Scan)
        .where(Scan.device_id == device_id, Scan.client_scan_id == client_scan_id)
        .execution_options(populate_existing=True)
    )


def answer_previous(scan: Scan, *, now: datetime) -> ScanResult:
    """Answer a re-sent scan with its first result: the same ScanResult, or the same refusal raised again."""
    if scan.result in ACCEPTED:
        return build_result(scan, now=now)
    refused = ScanRefused(scan.result)
    refused.scan = scan
    raise refused


def log_refusal(
    refused: ScanRefused,
    *,
    event: Event | None,
    volunteer: User | None,
    method: str,
    at: datetime,
    now: datetime,
    by: User | None,
    device_id: str | None = None,
    client_scan_id: str | None = None,
    offline: bool = False,
    position: Position | None = None,
    token_digest: str | None = None,
    note: str = "",
) -> ScanRefused:
    """Write a refusal to the scan log (flushed) and return the exception to raise.

    The one way a refused scan is logged: the engine (`_refuse_logged`), the scan services and the offline
    sync all call it; the API and the pages only answer the refusal (checkin.scanning.results)."""
    scan: Scan | None = Scan(
        event_id=event.id if event is not None else None,
        user_id=volunteer.id if volunteer else None,
        method=method,
        action="none",
        result=refused.code,
        device_id=device_id,
        client_scan_id=client_scan_id,
        scanned_at=at,
        received_at=now,
        offline=offline,
        scanned_by_id=by.id if by is not None else None,
        latitude=position.latitude if position else None,
        longitude=position.longitude if position else None,
        token_digest=token_digest,
        note=note[:500],
    )
    try:
        with db.session.begin_nested():
            db.session.add(scan)
            db.session.flush()
    except IntegrityError:  # the same (device, client id) was logged meanwhile: keep the first one
        scan = previous_scan(device_id, client_scan_id)
    refused.scan = scan
    return refused


def _seen_scans(request: ScanRequest) -> list[Scan]:
    """In one query: the device's earlier scan with this client id, and the accepted scans of this badge token."""
    device = (
        and_(Scan.device_id == request.device_id, Scan.client_scan_id == request.client_scan_id)
        if request.device_id and request.client_scan_id
        else None
    )
    token = (
        and_(Scan.token_digest == request.token_digest, Scan.user_id == request.volunteer.id, Scan.result.in_(ACCEPTED))
        if request.token_digest
        else None
    )
    if device is None and token is None:
        return []
    where = (
        or_(device, token) if device is not None and token is not None else (device if device is not None else token)
    )
    assert where is not None  # one of the two, at least, is set
    return list(db.session.scalars(select(Scan).where(where).execution_options(populate_existing=True)))


def _refuse_logged(refused: ScanRefused, request: ScanRequest) -> ScanRefused:
    """log_refusal with what the refused request says of the scan."""
    return log_refusal(
        refused,
        event=request.event,
        volunteer=request.volunteer,
        method=request.method,
        at=request.at,
        now=request.now,
        by=request.by,
        device_id=request.device_id,
        client_scan_id=request.client_scan_id,
        offline=request.offline,
        position=request.position,
        token_digest=request.token_digest,
        note=request.note,
    )


def apply_scan(request: ScanRequest) -> ScanResult:
    """Apply one scan (see the module docstring); raises ScanRefused after logging the refusal."""
    if not request.locked:
        lock_volunteer(request.volunteer)
    seen = _seen_scans(request)
    for earlier in seen:
        if request.client_scan_id and (earlier.device_id, earlier.client_scan_id) == (
            request.device_id,
            request.client_scan_id,
        ):
            return answer_previous(earlier, now=request.now)
    savepoint = not request.alone or bool(request.event.allow_walk_ins)
    try:
        if savepoint:
            with db.session.begin_nested():
                scan = _apply(request, seen)
                db.session.add(scan)
                db.session.flush()
        else:  # no rule refuses after a change here (see _apply): a refusal leaves nothing to undo
            scan = _apply(request, seen)
            db.session.add(scan)
            db.session.flush()
    except ScanRefused as refused:
        raise _refuse_logged(refused, request) from None
    except IntegrityError:
        # the same (device, client id) was applied meanwhile, or (the partial unique index) an open check-in exists
        if not savepoint:
            db.session.rollback()  # the whole transaction: the scan was all of it
        previous = previous_scan(request.device_id, request.client_scan_id)
        if previous is not None:
            return answer_previous(previous, now=request.now)
        # logged without the device's client id: that (device, client id) is not this refusal's
        raise _refuse_logged(
            ScanRefused("already_checked_in_elsewhere"), replace(request, device_id=None, client_scan_id=None)
        ) from None
    return build_result(scan, now=request.now)


def _scan(request: ScanRequest, attendance: Attendance | None, action: str, result: str, **values: Any) -> Scan:
    position = request.position
    # `attendance=`: the scan holds the object, so build_result reads it (and its shift) without reloading
    return Scan(
        event_id=request.event.id,
        user_id=request.volunteer.id,
        attendance=attendance,
        attendance_id=attendance.id if attendance is not None else None,
        method=request.method,
        action=action,
        result=result,
        device_id=request.device_id,
        client_scan_id=request.client_scan_id,
        scanned_at=request.at,
        received_at=request.now,
        offline=request.offline,
        scanned_by_id=request.by.id,
        latitude=position.latitude if position else None,
        longitude=position.longitude if position else None,
        token_digest=request.token_digest,
        note=request.note[:500],
        **values,
    )


def _apply(request: ScanRequest, seen: list[Scan]) -> Scan:
    """Decide and make the change; return the (unsaved) scan record, or raise ScanRefused.

    Every refusal comes before the first change, except after a walk-in's assignment (savepoint)."""
    volunteer, event = request.volunteer, request.event
    if volunteer.is_disabled:  # an imported volunteer not activated yet may still serve (manual check-in)
        raise ScanRefused("volunteer_unknown")
    if event.status != EventStatus.PUBLISHED.value:
        raise ScanRefused("not_allowed")
    if request.token_digest:
        _refuse_replay(request, seen)
    attendances = _attendances(volunteer, event)
    here = [attendance for attendance in attendances if attendance.event_id == event.id]
    if here:
        decided = _repeat_or_conflict(request, here[0], here)
        if decided is not None:
            return decided
    open_attendance = next((attendance for attendance in attendances if attendance.status == OPEN), None)
    if open_attendance is not None:
        if open_attendance.event_id != event.id:
            raise ScanRefused("already_checked_in_elsewhere", title=open_attendance.event.title)
        return _check_out(request, open_attendance)
    return _check_in(request)


def _refuse_replay(request: ScanRequest, seen: list[Scan]) -> None:
    """A badge token accepted at one device is refused at any other (a forwarded screenshot)."""
    for scan in seen:
        if (
            scan.token_digest == request.token_digest
            and scan.user_id == request.volunteer.id
            and scan.result in ACCEPTED
            and (scan.device_id or f"by:{scan.scanned_by_id}") != request.device_key
        ):
            raise ScanRefused("token_replayed")


def _attendances(volunteer: User, event: Event) -> list[Attendance]:
    """The volunteer's attendances at this event, and an open one anywhere; not voided; latest first."""
    return list(
        db.session.scalars(
            select(Attendance)
            .where(
                Attendance.user_id == volunteer.id,
                Attendance.status != VOIDED,
                or_(Attendance.event_id == event.id, Attendance.status == OPEN),
            )
            .order_by(Attendance.checked_in_at.desc(), Attendance.id.desc())
            .execution_options(populate_existing=True)
        )
    )


def _last_action(attendance: Attendance) -> tuple[datetime, str]:
    if attendance.checked_out_at is not None:
        return attendance.checked_out_at, "check_out"
    return attendance.checked_in_at, "check_in"


def _device_of(attendance: Attendance, action: str) -> str | None:
    """Which device made the attendance's check-in or check-out (None: set by hand, no scan)."""
    row = db.session.execute(
        select(Scan.device_id, Scan.scanned_by_id)
        .where(Scan.attendance_id == attendance.id, Scan.action == action, Scan.result == "ok")
        .order_by(Scan.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0] or f"by:{row[1]}")


def _repeat_or_conflict(request: ScanRequest, latest: Attendance, candidates: list[Attendance]) -> Scan | None:
    """A repeat or a conflict against the volunteer's last action at this event; None to go on."""
    last_at, last_action = _last_action(latest)
    repeat = timedelta(seconds=_config("CHECKIN_REPEAT_SECONDS"))
    if abs(request.at - last_at) < repeat:
        if request.offline and _device_of(latest, last_action) != request.device_key:
            return _conflict(request, latest, last_action)
        return _scan(request, latest, "none", "repeat")
    if request.at < last_at:  # older than the last action: a device that was offline, or a wrong clock
        attendance, side = _nearest_attendance(request, repeat, candidates)
        return _conflict(request, attendance or latest, side)
    return None


def _nearest_attendance(
    request: ScanRequest, repeat: timedelta, candidates: list[Attendance]
) -> tuple[Attendance | None, str]:
    """The volunteer's attendance at this event nearest the scan's time, and what the scan disputes.

    "check_in" / "check_out": the scan lies within the repeat window of that end (a coordinator may
    take its time instead); "inside": during the stay; "outside": nowhere near it (only dismissed).
    """
    best, best_side, best_gap = None, "check_in", None
    for attendance in candidates:
        end = attendance.checked_out_at
        if attendance.checked_in_at <= request.at and (end is None or request.at <= end):
            return attendance, "inside"
        if request.at < attendance.checked_in_at:
            gap, side = attendance.checked_in_at - request.at, "check_in"
        else:
            assert end is not None  # an open attendance begun before the scan holds it: "inside" above
            gap, side = request.at - end, "check_out"
        if best_gap is None or gap < best_gap:
            best, best_side, best_gap = attendance, side, gap
    return best, (best_side if best_gap is not None and best_gap < repeat else "outside")


def _conflict(request: ScanRequest, attendance: Attendance, side: str) -> Scan:
    db.session.execute(
        update(Attendance).where(Attendance.id == attendance.id).values(conflict=True, updated_at=request.now)
    )
    db.session.expire(attendance, ["conflict", "updated_at"])
    return _scan(request, attendance, "none", "conflict", conflict_side=side)


def _check_out(request: ScanRequest, attendance: Attendance) -> Scan:
    if request.at < attendance.checked_in_at:
        raise ScanRefused("check_out_before_check_in")
    outside = check_out_fence(request.check_geofence, attendance, request.position)
    position = request.position
    done = db.session.execute(
        update(Attendance)
        .where(Attendance.id == attendance.id, Attendance.status == OPEN)
        .values(
            status=CLOSED,
            checked_out_at=request.at,
            check_out_method=request.method,
            checked_out_by_id=request.by.id,
            offline=bool(attendance.offline or request.offline),
            out_latitude=position.latitude if position else None,
            out_longitude=position.longitude if position else None,
            out_accuracy_m=position.accuracy_m if position else None,
            updated_at=request.now,
            **({"outside_radius": True} if outside else {}),
        )
    )
    db.session.expire(attendance)
    if rowcount(done) != 1:  # the forgotten-check-out job marked it meanwhile
        raise ScanRefused("shift_over")
    complete_assignment(attendance, now=request.now)
    return _scan(request, attendance, "check_out", "ok")


def complete_assignment(attendance: Attendance, *, now: datetime) -> None:
    """A closed attendance completes its assignment; a course's credential is granted."""
    assignment = db.session.get(Assignment, attendance.assignment_id)
    if assignment is None:
        return
    if assignment.status == ASSIGNED:
        set_status(assignment, (ASSIGNED,), COMPLETED, now=now)
    if assignment.status == COMPLETED:
        grant_training_credential(assignment, now=now)


def _check_in(request: ScanRequest) -> Scan:
    assignment = pick_assignment(request)
    event, position = request.event, request.position
    outside = False
    if request.check_geofence and has_geofence(event) and not inside_geofence(event, position):
        if event.geofence_mode == GeofenceMode.REFUSE.value:
            raise ScanRefused("outside_radius")
        outside = True
    outside = check_in_outside(request.check_geofence, assignment.shift, position) or outside
    attendance = Attendance(
        user_id=request.volunteer.id,
        event_id=event.id,
        shift_id=assignment.shift_id,
        assignment_id=assignment.id,
        shift=assignment.shift,
        checked_in_at=request.at,
        status=OPEN,
        check_in_method=request.method,
        offline=request.offline,
        outside_radius=outside,
        in_latitude=position.latitude if position else None,
        in_longitude=position.longitude if position else None,
        in_accuracy_m=position.accuracy_m if position else None,
        checked_in_by_id=request.by.id,
        note=request.note,
        created_at=request.now,
        updated_at=request.now,
    )
    db.session.add(attendance)
    db.session.flush()  # the partial unique index backs the volunteer's lock: see apply_scan
    return _scan(request, attendance, "check_in", "ok")
