"""Forgotten check-outs: the scheduled job marks them, they credit nothing until a coordinator sets the time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.scheduling.scheduler import registered_jobs
from checkin.models import Attendance
from checkin.scanning.corrections import set_check_out_time, void_attendance
from checkin.scanning.missing import mark_missing_checkouts
from checkin.scanning.services import ScanRefused, scan_kiosk
from checkin.tasks import mark_missing_checkouts as missing_checkouts_job
from events.models import Assignment
from tests.support import attendance_of

MINUTE = timedelta(minutes=1)


@pytest.fixture
def checked_in(db, shift, assignment, volunteer, kiosk, now):
    """The volunteer checked in at `now` and never checked out; the shift ends two hours later."""
    result = scan_kiosk(kiosk(now), volunteer, now=now)
    db.session.commit()
    return attendance_of(result)


def status_of(db, attendance) -> str:
    db.session.expire_all()
    return db.session.get(Attendance, attendance.id).status


def test_the_job_marks_only_after_the_configured_time(db, app, shift, checked_in):
    assert app.config["CHECKIN_MISSING_CHECKOUT_AFTER_MINUTES"] == 120
    just_before = shift.ends_at + 119 * MINUTE
    assert mark_missing_checkouts(now=just_before) == 0
    assert status_of(db, checked_in) == "open"
    assert mark_missing_checkouts(now=shift.ends_at + 120 * MINUTE) == 1
    db.session.commit()
    attendance = db.session.get(Attendance, checked_in.id)
    assert attendance.status == "missing_checkout" and attendance.minutes is None
    assert db.session.get(Assignment, attendance.assignment_id).status == "assigned"  # not completed: no credit
    assert mark_missing_checkouts(now=shift.ends_at + 180 * MINUTE) == 0


def test_closed_attendance_is_left_alone(db, shift, checked_in, volunteer, kiosk, now):
    scan_kiosk(kiosk(now + 30 * MINUTE), volunteer, now=now + 30 * MINUTE)
    db.session.commit()
    assert mark_missing_checkouts(now=shift.ends_at + 200 * MINUTE) == 0
    assert status_of(db, checked_in) == "closed"


def test_the_scheduled_job_runs_once_per_period(db, shift, checked_in):
    assert "missing_checkouts" in registered_jobs()
    at = shift.ends_at + 125 * MINUTE
    assert missing_checkouts_job(at) == {"marked": 1}
    assert missing_checkouts_job(at) is None  # this period already ran
    assert status_of(db, checked_in) == "missing_checkout"


def test_a_later_scan_does_not_close_a_missing_check_out(db, shift, checked_in, volunteer, kiosk):
    mark_missing_checkouts(now=shift.ends_at + 120 * MINUTE)
    late = shift.ends_at + 150 * MINUTE
    with pytest.raises(ScanRefused) as caught:
        scan_kiosk(kiosk(late), volunteer, now=late)
    assert caught.value.code == "shift_over"
    assert status_of(db, checked_in) == "missing_checkout"


def test_setting_the_check_out_time_needs_a_reason_and_credits(
    db, shift, checked_in, coordinator, outsider, volunteer, audits
):
    mark_missing_checkouts(now=shift.ends_at + 120 * MINUTE)
    db.session.commit()
    at, real_end = shift.ends_at + 3 * 60 * MINUTE, shift.ends_at - 5 * MINUTE
    with pytest.raises(ValidationFailed) as caught:
        set_check_out_time(checked_in, real_end, by=coordinator, now=at, reason=" ")
    assert caught.value.code == "reason_required"
    for by in (volunteer, outsider):
        with pytest.raises(PermissionDenied):
            set_check_out_time(checked_in, real_end, by=by, now=at, reason="忘记签退")
    with pytest.raises(ScanRefused) as caught:
        set_check_out_time(checked_in, checked_in.checked_in_at - MINUTE, by=coordinator, now=at, reason="忘记签退")
    assert caught.value.code == "check_out_before_check_in"
    with pytest.raises(ValidationFailed):
        set_check_out_time(checked_in, at + MINUTE, by=coordinator, now=at, reason="忘记签退")

    attendance = set_check_out_time(checked_in, real_end, by=coordinator, now=at, reason="忘记签退")
    db.session.commit()
    assert attendance.status == "closed" and attendance.checked_out_at == real_end
    assert attendance.minutes == int((real_end - attendance.checked_in_at).total_seconds() // 60)
    assert attendance.corrected_by_id == coordinator.id and attendance.note == "忘记签退"
    assert db.session.get(Assignment, attendance.assignment_id).status == "completed"
    [entry] = audits("attendance.set_check_out")
    assert entry.before["status"] == "missing_checkout" and entry.after["status"] == "closed"
    assert entry.note == "忘记签退" and entry.actor_id == coordinator.id
    with pytest.raises(Conflict):
        set_check_out_time(attendance, real_end, by=coordinator, now=at, reason="再改")


def test_voiding_an_attendance(db, shift, checked_in, coordinator, volunteer, kiosk, audits, now):
    scan_kiosk(kiosk(now + 30 * MINUTE), volunteer, now=now + 30 * MINUTE)
    with pytest.raises(ValidationFailed):
        void_attendance(checked_in, by=coordinator, now=now + 40 * MINUTE, reason="")
    attendance = void_attendance(checked_in, by=coordinator, now=now + 40 * MINUTE, reason="误签到")
    db.session.commit()
    assert attendance.status == "voided" and attendance.note == "误签到"
    assert db.session.get(Assignment, attendance.assignment_id).status == "assigned"
    assert audits("attendance.void")[0].note == "误签到"
    with pytest.raises(Conflict):
        void_attendance(attendance, by=coordinator, now=now + 41 * MINUTE, reason="again")
    # voided: the next scan is a fresh check-in, not a repeat of the voided one
    assert scan_kiosk(kiosk(now + 41 * MINUTE), volunteer, now=now + 41 * MINUTE).action == "check_in"
