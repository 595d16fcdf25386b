"""A coordinator's fixes to attendance: set a missing check-out time, void an attendance, resolve a conflict.

Each takes a required reason, takes the volunteer's row first (so it serializes with their
scans), changes the attendance with a guarded UPDATE, and is written to the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from app.audit import record
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db, rowcount
from app.permissions import can_run_checkin
from checkin.models import Attendance, AttendanceStatus, Scan
from checkin.refusals import ScanRefused
from events.models import Assignment, AssignmentStatus, Event
from events.signup.places import lock_volunteer, set_status
from events.training.credentials import grant_training_credential
from volunteers.accounts.models import User

OPEN = AttendanceStatus.OPEN.value
CLOSED = AttendanceStatus.CLOSED.value
MISSING = AttendanceStatus.MISSING_CHECKOUT.value
VOIDED = AttendanceStatus.VOIDED.value
KEEP_CHOICES = ("attendance", "scan")


def snapshot(attendance: Attendance) -> dict:
    """The audited fields of an attendance."""
    return {
        "status": attendance.status,
        "checked_in_at": attendance.checked_in_at.isoformat(),
        "checked_out_at": attendance.checked_out_at.isoformat() if attendance.checked_out_at else None,
        "conflict": attendance.conflict,
    }


def _prepare(attendance: Attendance, *, by: User, reason: str) -> tuple[Event, str]:
    """Permission, reason and the volunteer's lock; returns the event and the stripped reason."""
    event = db.session.get(Event, attendance.event_id)
    if event is None or not can_run_checkin(by, event):
        raise PermissionDenied(_("Only the event's coordinators may correct its attendance."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for the correction."), code="reason_required", field="reason")
    volunteer = db.session.get(User, attendance.user_id)
    assert volunteer is not None  # the attendance's foreign key names the volunteer
    lock_volunteer(volunteer)
    db.session.refresh(attendance)
    return event, reason


def complete_assignment(attendance: Attendance, *, now: datetime) -> None:
    """A closed attendance completes its assignment; a course's credential is granted."""
    assignment = db.session.get(Assignment, attendance.assignment_id)
    if assignment is None:
        return
    if assignment.status == AssignmentStatus.ASSIGNED.value:
        set_status(assignment, (AssignmentStatus.ASSIGNED.value,), AssignmentStatus.COMPLETED.value, now=now)
    if assignment.status == AssignmentStatus.COMPLETED.value:
        grant_training_credential(assignment, now=now)


def _aware(value: object, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationFailed(_("Give a time with its time zone."), code="invalid_time", field=field)
    return value


def _update(attendance: Attendance, from_statuses: tuple[str, ...], **values: object) -> bool:
    result = db.session.execute(
        update(Attendance).where(Attendance.id == attendance.id, Attendance.status.in_(from_statuses)).values(**values)
    )
    db.session.expire(attendance)
    return rowcount(result) == 1


def set_check_out_time(
    attendance: Attendance, checked_out_at: datetime, *, by: User, now: datetime, reason: str
) -> Attendance:
    """A coordinator sets the real check-out time of an open or forgotten check-out, with a reason."""
    checked_out_at = _aware(checked_out_at, "checked_out_at")
    event, reason = _prepare(attendance, by=by, reason=reason)
    if attendance.status not in (OPEN, MISSING):
        raise Conflict(_("This attendance is not waiting for a check-out."), code="not_open")
    if checked_out_at < attendance.checked_in_at:
        raise ScanRefused("check_out_before_check_in")
    if checked_out_at > now:
        raise ValidationFailed(
            _("The check-out time cannot be in the future."), code="time_in_future", field="checked_out_at"
        )
    before = snapshot(attendance)
    if not _update(
        attendance,
        (OPEN, MISSING),
        status=CLOSED,
        checked_out_at=checked_out_at,
        check_out_method="manual",
        checked_out_by_id=by.id,
        corrected_by_id=by.id,
        corrected_at=now,
        note=reason,
        updated_at=now,
    ):
        raise Conflict(_("This attendance is not waiting for a check-out."), code="not_open")
    complete_assignment(attendance, now=now)
    record(
        "attendance.set_check_out",
        actor=by,
        now=now,
        target=attendance,
        organization_id=event.organization_id,
        before=before,
        after=snapshot(attendance),
        note=reason,
    )
    return attendance


def void_attendance(attendance: Attendance, *, by: User, now: datetime, reason: str) -> Attendance:
    """A coordinator withdraws an attendance (checked in by mistake), with a reason; it then credits nothing."""
    event, reason = _prepare(attendance, by=by, reason=reason)
    before = snapshot(attendance)
    if not _update(
        attendance,
        (OPEN, CLOSED, MISSING),
        status=VOIDED,
        corrected_by_id=by.id,
        corrected_at=now,
        note=reason,
        updated_at=now,
    ):
        raise Conflict(_("This attendance is already void."), code="already_voided")
    others = db.session.scalar(
        select(
            exists().where(
                Attendance.assignment_id == attendance.assignment_id,
                Attendance.id != attendance.id,
                Attendance.status == CLOSED,
            )
        )
    )
    assignment = db.session.get(Assignment, attendance.assignment_id)
    if assignment is not None and not others:
        # nothing attended any more: the assignment is as it was before check-in
        set_status(assignment, (AssignmentStatus.COMPLETED.value,), AssignmentStatus.ASSIGNED.value, now=now)
    record(
        "attendance.void",
        actor=by,
        now=now,
        target=attendance,
        organization_id=event.organization_id,
        before=before,
        after=snapshot(attendance),
        note=reason,
    )
    return attendance


def resolve_conflict(scan: Scan, *, by: User, now: datetime, keep: str, reason: str) -> Attendance:
    """A coordinator settles a conflicting offline scan: keep the attendance as it is, or take the scan's time.

    keep="scan" moves the end of the attendance that the scan disputes (its check-in, or its
    check-out) to the scan's time; a scan inside the stay, or far from it, can only be dismissed.
    """
    if scan.result != "conflict":
        raise Conflict(_("This scan is not a conflict."), code="not_a_conflict")
    if keep not in KEEP_CHOICES:
        raise ValidationFailed(_("Choose what to keep."), code="invalid_choice", field="keep")
    attendance = db.session.get(Attendance, scan.attendance_id) if scan.attendance_id else None
    if attendance is None:
        raise NotFound(_("The attendance of this scan no longer exists."))
    event, reason = _prepare(attendance, by=by, reason=reason)
    db.session.refresh(scan)
    if scan.resolved_at is not None:
        raise Conflict(_("This conflict has already been resolved."), code="already_resolved")
    before = snapshot(attendance)
    values: dict = {}
    if keep == "scan":
        values = _scan_times(attendance, scan)
    db.session.execute(
        update(Scan)
        .where(Scan.id == scan.id)
        .values(resolved_by_id=by.id, resolved_at=now, note=f"keep {keep}: {reason}"[:500])
    )
    db.session.expire(scan)
    still = db.session.scalar(
        select(
            exists().where(Scan.attendance_id == attendance.id, Scan.result == "conflict", Scan.resolved_at.is_(None))
        )
    )
    _update(
        attendance,
        (OPEN, CLOSED, MISSING, VOIDED),
        conflict=bool(still),
        updated_at=now,
        **({"corrected_by_id": by.id, "corrected_at": now} if values else {}),
        **values,
    )
    record(
        "attendance.resolve_conflict",
        actor=by,
        now=now,
        target=attendance,
        organization_id=event.organization_id,
        before=before,
        after=snapshot(attendance),
        note=f"scan {scan.id}, keep {keep}: {reason}",
    )
    return attendance


def _scan_times(attendance: Attendance, scan: Scan) -> dict:
    """The attendance times that taking the scan's time means, checked for order."""
    at = scan.scanned_at
    if scan.conflict_side == "check_in":
        if attendance.checked_out_at is not None and at > attendance.checked_out_at:
            raise ScanRefused("check_out_before_check_in")
        return {"checked_in_at": at}
    if scan.conflict_side == "check_out" and attendance.checked_out_at is not None:
        if at < attendance.checked_in_at:
            raise ScanRefused("check_out_before_check_in")
        return {"checked_out_at": at}
    raise ValidationFailed(
        _("This scan is not next to a check-in or check-out: it can only be dismissed."),
        code="cannot_keep_scan",
        field="keep",
    )
