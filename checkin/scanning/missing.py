"""Forgotten check-outs: attendance still open long after its shift ended credits nothing until fixed."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db, rowcount
from checkin.models import Attendance, AttendanceStatus
from events.models import Shift


def mark_missing_checkouts(*, now: datetime) -> int:
    """Mark attendance still open CHECKIN_MISSING_CHECKOUT_AFTER_MINUTES after its shift's end; returns how many.

    One guarded UPDATE (status still open), so a check-out racing the job either lands first
    and is kept, or finds the attendance marked and is refused. A coordinator then sets the
    real time with a reason (checkin.scanning.corrections.set_check_out_time).
    """
    after = timedelta(minutes=int(current_app.config["CHECKIN_MISSING_CHECKOUT_AFTER_MINUTES"]))
    ended = select(Shift.id).where(Shift.ends_at <= now - after)
    result = db.session.execute(
        update(Attendance)
        .where(Attendance.status == AttendanceStatus.OPEN.value, Attendance.shift_id.in_(ended))
        .values(status=AttendanceStatus.MISSING_CHECKOUT.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return rowcount(result) or 0
