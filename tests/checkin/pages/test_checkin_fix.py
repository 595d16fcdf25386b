"""Fixing attendance: set the real time of a forgotten check-out, settle conflicting offline scans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.timeutil import to_local
from checkin.models import Scan
from checkin.scanning.missing import mark_missing_checkouts
from checkin.scanning.offline import OfflineScan, sync_offline_scans
from checkin.scanning.services import scan_kiosk
from checkin.tokens import badge_token, kiosk_token, parse_kiosk_token
from tests.support import attendance_of


def _local(value) -> str:
    return to_local(value).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def forgotten(db, make_shift, position, volunteer, assign, now):
    """The volunteer checked in on a shift that ended four hours ago and never checked out (marked missing)."""
    ended = make_shift(position, starts_at=now - timedelta(hours=7), ends_at=now - timedelta(hours=4))
    assign(ended, volunteer)
    at = ended.starts_at + timedelta(minutes=5)
    result = scan_kiosk(
        parse_kiosk_token(kiosk_token(ended.event_id, shift_id=None, now=at), now=at), volunteer, now=at
    )
    db.session.commit()
    assert mark_missing_checkouts(now=now) == 1
    db.session.commit()
    return attendance_of(result)


def test_missing_check_outs_are_listed_with_the_shift_end_proposed(as_user, coordinator, forgotten, page_text):
    response = as_user(coordinator).get(f"/checkin/events/{forgotten.event_id}/attendance")
    html = response.get_data(as_text=True)
    assert f'id="attendance-{forgotten.id}"' in html
    assert f'value="{_local(forgotten.shift.ends_at)}"' in html  # the shift's end, as a starting point
    assert "陈小明" in page_text(response) and "Missing check-out" in page_text(response)


def test_setting_the_real_check_out_time_closes_the_attendance(
    as_user, coordinator, forgotten, attendances, volunteer, audits, page_text
):
    user = as_user(coordinator)
    left = forgotten.checked_in_at + timedelta(hours=2, minutes=50)
    response = user.post(
        f"/checkin/attendance/{forgotten.id}/check-out",
        data={f"a{forgotten.id}-checked_out_at": _local(left), f"a{forgotten.id}-reason": "队长确认 11:55 离开"},
    )
    assert response.status_code == 302
    [attendance] = attendances(volunteer)
    assert attendance.status == "closed"
    assert to_local(attendance.checked_out_at).strftime("%H:%M") == to_local(left).strftime("%H:%M")
    assert len(audits("attendance.set_check_out")) == 1
    page = user.get(response.headers["Location"])
    assert "Check-out time set for 陈小明." in page_text(page)
    assert f'id="attendance-{forgotten.id}"' not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"reason": ""}, "Give a reason for the correction."),
        ({"checked_out_at": ""}, "Enter the time the volunteer actually left."),
        ({"checked_out_at": "yesterday"}, "Not a valid datetime value."),
        ({"before_check_in": True}, "The check-out time must be after the check-in time."),
        ({"future": True}, "The check-out time cannot be in the future."),
    ],
)
def test_a_wrong_check_out_time_is_shown_beside_the_field(
    values, message, as_user, coordinator, forgotten, attendances, volunteer, now, page_text
):
    time = forgotten.checked_in_at + timedelta(hours=1)
    if values.get("before_check_in"):
        time = forgotten.checked_in_at - timedelta(hours=1)
    if values.get("future"):
        time = now + timedelta(hours=2)
    data = {
        f"a{forgotten.id}-checked_out_at": values.get("checked_out_at", _local(time)),
        f"a{forgotten.id}-reason": values.get("reason", "补录签退"),
    }
    response = as_user(coordinator).post(f"/checkin/attendance/{forgotten.id}/check-out", data=data)
    assert response.status_code == 422
    assert message in page_text(response)
    assert [a.status for a in attendances(volunteer)] == ["missing_checkout"]


def test_others_cannot_fix_attendance(as_user, outsider, volunteer, forgotten, attendances):
    for user in (outsider, volunteer):
        response = as_user(user).post(
            f"/checkin/attendance/{forgotten.id}/check-out",
            data={
                f"a{forgotten.id}-checked_out_at": _local(forgotten.shift.ends_at),
                f"a{forgotten.id}-reason": "想改",
            },
        )
        assert response.status_code == 403
    assert as_user(volunteer).post("/checkin/attendance/999999/check-out").status_code == 404
    assert [a.status for a in attendances(volunteer)] == ["missing_checkout"]


@pytest.fixture
def conflict(db, coordinator, volunteer, event, shift, assignment, now):
    """Two offline devices scanned the same volunteer 40 seconds apart: one attendance and a flagged scan."""
    first, second = now - timedelta(minutes=30), now - timedelta(minutes=30) + timedelta(seconds=40)
    sync_offline_scans(
        event,
        [OfflineScan("a-1", badge_token(volunteer.id, now=first), first)],
        by=coordinator,
        device_id="device-a",
        now=now,
    )
    [result] = sync_offline_scans(
        event,
        [OfflineScan("b-1", badge_token(volunteer.id, now=second), second)],
        by=coordinator,
        device_id="device-b",
        now=now,
    )
    db.session.commit()
    assert result.result == "conflict"
    return db.session.get(Scan, result.scan_id)


def test_conflicts_are_listed_and_resolved_with_a_reason(
    as_user, coordinator, conflict, attendances, volunteer, scans, page_text
):
    user = as_user(coordinator)
    page = user.get(f"/checkin/events/{conflict.event_id}/attendance")
    assert f'id="scan-{conflict.id}"' in page.get_data(as_text=True) and "device-b" in page_text(page)
    assert attendances(volunteer)[0].conflict is True

    refused = user.post(f"/checkin/scans/{conflict.id}/resolve", data={f"s{conflict.id}-keep": "attendance"})
    assert refused.status_code == 422 and "Give a reason for the correction." in page_text(refused)

    done = user.post(
        f"/checkin/scans/{conflict.id}/resolve",
        data={f"s{conflict.id}-keep": "attendance", f"s{conflict.id}-reason": "同一次签到，两台手机都扫了"},
    )
    assert done.status_code == 302
    assert attendances(volunteer)[0].conflict is False
    assert scans(id=conflict.id)[0].resolved_by_id == coordinator.id
    after = user.get(done.headers["Location"])
    assert "The conflict is resolved." in page_text(after)
    assert f'id="scan-{conflict.id}"' not in after.get_data(as_text=True)
    again = user.post(
        f"/checkin/scans/{conflict.id}/resolve",
        data={f"s{conflict.id}-keep": "attendance", f"s{conflict.id}-reason": "再来一次"},
    )
    assert again.status_code == 409


def test_outsiders_cannot_resolve_conflicts(as_user, outsider, conflict):
    response = as_user(outsider).post(
        f"/checkin/scans/{conflict.id}/resolve",
        data={f"s{conflict.id}-keep": "attendance", f"s{conflict.id}-reason": "x"},
    )
    assert response.status_code == 403
