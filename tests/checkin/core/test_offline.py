"""Offline sync: each scan once, original time kept, marked offline, conflicts flagged not counted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import PermissionDenied, ValidationFailed
from checkin.scanning.corrections import resolve_conflict
from checkin.scanning.offline import OfflineScan, sync_offline_scans
from checkin.scanning.services import scan_badge

MINUTE = timedelta(minutes=1)


@pytest.fixture
def nine(shift):
    """09:00 of the story: ten minutes after the shift under way started."""
    return shift.starts_at + 10 * MINUTE


@pytest.fixture
def sync(db, event, coordinator):
    """sync(device, [(client id, volunteer, time), ...], now) -> results, committed."""

    def run(device: str, items, now):
        from checkin.tokens import badge_token

        scans = [OfflineScan(client_id, badge_token(user.id, now=at), at) for client_id, user, at in items]
        results = sync_offline_scans(event, scans, by=coordinator, device_id=device, now=now)
        db.session.commit()
        return results

    return run


def test_offline_scans_keep_their_time_and_are_marked(
    db, shift, assignment, volunteer, sync, attendances, scans, nine, now
):
    results = sync(
        "phone-A", [("a1", volunteer, nine), ("a2", volunteer, nine + 100 * MINUTE)], now=nine + 110 * MINUTE
    )
    assert [(r.action, r.result) for r in results] == [("check_in", "ok"), ("check_out", "ok")]
    assert all("offline" in r.flags for r in results)
    [attendance] = attendances(volunteer)
    assert (attendance.checked_in_at, attendance.checked_out_at) == (nine, nine + 100 * MINUTE)
    assert attendance.offline is True and attendance.status == "closed"
    logged = scans(user_id=volunteer.id)
    assert [(s.scanned_at, s.received_at, s.offline) for s in logged] == [
        (nine, nine + 110 * MINUTE, True),
        (nine + 100 * MINUTE, nine + 110 * MINUTE, True),
    ]


def test_a_re_sent_batch_is_applied_once(db, shift, assignment, volunteer, sync, attendances, scans, nine):
    items = [("a1", volunteer, nine), ("a2", volunteer, nine + 100 * MINUTE)]
    first = sync("phone-A", items, now=nine + 110 * MINUTE)
    again = sync("phone-A", items, now=nine + 130 * MINUTE)
    assert [(r.action, r.result, r.attendance_id) for r in again] == [
        (r.action, r.result, r.attendance_id) for r in first
    ]
    assert len(attendances(volunteer)) == 1 and len(scans(user_id=volunteer.id)) == 2


def test_results_come_back_in_the_order_sent(db, shift, assignment, volunteer, sync, nine):
    results = sync(
        "phone-A", [("late", volunteer, nine + 100 * MINUTE), ("early", volunteer, nine)], now=nine + 110 * MINUTE
    )
    assert [r.action for r in results] == ["check_out", "check_in"]


def test_tokens_are_judged_at_the_scan_time(db, event, shift, assignment, volunteer, coordinator, nine):
    from checkin.tokens import badge_token

    stale = badge_token(volunteer.id, now=nine - 2 * MINUTE)  # already expired at the scan's time
    fresh = badge_token(volunteer.id, now=nine)
    results = sync_offline_scans(
        event,
        [OfflineScan("x1", stale, nine), OfflineScan("x2", fresh, nine)],
        by=coordinator,
        device_id="phone-A",
        now=nine + 3 * 60 * MINUTE,
    )
    assert [(r.result, r.code) for r in results] == [("refused", "token_expired"), ("ok", None)]
    assert "expired" in results[0].message


def test_scans_in_the_future_or_too_old_are_refused(db, shift, assignment, volunteer, sync, scans, nine):
    results = sync(
        "phone-A", [("f", volunteer, nine + 60 * MINUTE), ("o", volunteer, nine - 25 * 60 * MINUTE)], now=nine
    )
    assert [r.code for r in results] == ["scan_in_future", "scan_too_old"]
    assert [s.result for s in scans(device_id="phone-A")] == ["scan_too_old", "scan_in_future"]


def test_a_volunteer_chosen_from_the_roster_without_a_token(db, event, shift, assignment, volunteer, coordinator, nine):
    [result] = sync_offline_scans(
        event,
        [OfflineScan("r1", None, nine, user_id=volunteer.id)],
        by=coordinator,
        device_id="phone-A",
        now=nine + MINUTE,
    )
    assert (result.action, result.result) == ("check_in", "ok")


@pytest.mark.parametrize("first_device", ["phone-A", "phone-B"])
def test_two_devices_one_attendance_one_conflict(
    db, shift, assignment, volunteer, sync, attendances, scans, nine, first_device
):
    """Device A scanned the volunteer at 09:00, device B at 09:01; they sync in either order."""
    batches = {"phone-A": [("a1", volunteer, nine)], "phone-B": [("b1", volunteer, nine + MINUTE)]}
    second_device = "phone-B" if first_device == "phone-A" else "phone-A"
    sync(first_device, batches[first_device], now=nine + 30 * MINUTE)
    [result] = sync(second_device, batches[second_device], now=nine + 31 * MINUTE)
    assert (result.action, result.result) == ("none", "conflict") and "conflict" in result.flags
    [attendance] = attendances(volunteer)
    assert attendance.status == "open" and attendance.conflict is True and attendance.checked_out_at is None
    logged = scans(user_id=volunteer.id)
    assert sorted((s.action, s.result) for s in logged) == [("check_in", "ok"), ("none", "conflict")]
    [conflict] = [s for s in logged if s.result == "conflict"]
    assert conflict.device_id == second_device and conflict.attendance_id == attendance.id
    assert conflict.conflict_side == "check_in"


@pytest.mark.parametrize("first_device", ["phone-A", "phone-B"])
def test_two_devices_whole_stays_never_an_extra_check_out(
    db, shift, assignment, volunteer, sync, attendances, scans, nine, first_device
):
    """Both devices scanned the volunteer in and out a minute apart: one stay, conflicts for the coordinator."""
    out = nine + 120 * MINUTE
    batches = {
        "phone-A": [("a1", volunteer, nine), ("a2", volunteer, out)],
        "phone-B": [("b1", volunteer, nine + MINUTE), ("b2", volunteer, out + MINUTE)],
    }
    second_device = "phone-B" if first_device == "phone-A" else "phone-A"
    sync(first_device, batches[first_device], now=out + 10 * MINUTE)
    results = sync(second_device, batches[second_device], now=out + 11 * MINUTE)
    assert [r.result for r in results] == ["conflict", "conflict"]
    [attendance] = attendances(volunteer)
    assert attendance.status == "closed" and attendance.conflict is True
    assert [s.action for s in scans(user_id=volunteer.id) if s.result == "ok"] == ["check_in", "check_out"]


def test_an_online_scan_then_a_late_offline_one_from_another_device(
    db, event, shift, assignment, volunteer, coordinator, sync, attendances, nine
):
    from checkin.tokens import badge_token

    scan_badge(badge_token(volunteer.id, now=nine), event, by=coordinator, now=nine, device_id="phone-B")
    [result] = sync("phone-A", [("a1", volunteer, nine - MINUTE)], now=nine + 20 * MINUTE)
    assert result.result == "conflict"
    assert len(attendances(volunteer)) == 1


def test_resolving_a_conflict_takes_the_scans_time_with_a_reason(
    db, shift, assignment, volunteer, coordinator, outsider, sync, attendances, scans, audits, nine
):
    sync("phone-B", [("b1", volunteer, nine + MINUTE)], now=nine + 30 * MINUTE)
    sync("phone-A", [("a1", volunteer, nine)], now=nine + 31 * MINUTE)
    [conflict] = scans(result="conflict")
    with pytest.raises(ValidationFailed):
        resolve_conflict(conflict, by=coordinator, now=nine + 40 * MINUTE, keep="scan", reason="")
    with pytest.raises(PermissionDenied):
        resolve_conflict(conflict, by=outsider, now=nine + 40 * MINUTE, keep="scan", reason="A 先扫")
    attendance = resolve_conflict(conflict, by=coordinator, now=nine + 40 * MINUTE, keep="scan", reason="A 先扫")
    db.session.commit()
    assert attendance.checked_in_at == nine and attendance.conflict is False
    [resolved] = scans(result="conflict")
    assert resolved.resolved_by_id == coordinator.id and "A 先扫" in resolved.note
    assert audits("attendance.resolve_conflict")[0].before["checked_in_at"] == (nine + MINUTE).isoformat()


def test_keeping_the_attendance_dismisses_the_conflict(
    db, shift, assignment, volunteer, coordinator, sync, scans, nine
):
    sync("phone-A", [("a1", volunteer, nine)], now=nine + 30 * MINUTE)
    sync("phone-B", [("b1", volunteer, nine + MINUTE)], now=nine + 31 * MINUTE)
    [conflict] = scans(result="conflict")
    attendance = resolve_conflict(
        conflict, by=coordinator, now=nine + 40 * MINUTE, keep="attendance", reason="同一次签到"
    )
    assert attendance.checked_in_at == nine and attendance.conflict is False


def test_only_coordinators_sync_and_batches_are_checked(db, event, shift, volunteer, outsider, coordinator, nine):
    scan = OfflineScan("a1", "B.1.1.AAAAAAAAAAAAAAAAAAAAAA", nine)
    for by in (volunteer, outsider):
        with pytest.raises(PermissionDenied):
            sync_offline_scans(event, [scan], by=by, device_id="phone-A", now=nine)
    for bad in (
        [OfflineScan("", None, nine, user_id=1)],
        [OfflineScan("a1", None, nine)],
        [OfflineScan("a1", None, nine.replace(tzinfo=None), user_id=1)],
        [OfflineScan("a 1", None, nine, user_id=1)],
    ):
        with pytest.raises(ValidationFailed):
            sync_offline_scans(event, bad, by=coordinator, device_id="phone-A", now=nine)


def test_a_scan_far_from_the_stay_can_only_be_dismissed(
    db, event, shift, assignment, volunteer, coordinator, sync, scans, nine
):
    from checkin.tokens import badge_token

    scan_badge(
        badge_token(volunteer.id, now=nine + 60 * MINUTE),
        event,
        by=coordinator,
        now=nine + 60 * MINUTE,
        device_id="phone-B",
    )
    [result] = sync("phone-A", [("a1", volunteer, nine)], now=nine + 70 * MINUTE)
    assert result.result == "conflict"
    [conflict] = scans(result="conflict")
    assert conflict.conflict_side == "outside"
    with pytest.raises(ValidationFailed) as caught:
        resolve_conflict(conflict, by=coordinator, now=nine + 80 * MINUTE, keep="scan", reason="?")
    assert caught.value.code == "cannot_keep_scan"
    attendance = resolve_conflict(conflict, by=coordinator, now=nine + 80 * MINUTE, keep="attendance", reason="忽略")
    assert attendance.checked_in_at == nine + 60 * MINUTE and attendance.conflict is False


def test_a_scan_during_the_stay_is_a_conflict_inside_it(
    db, shift, assignment, volunteer, sync, attendances, scans, nine
):
    sync("phone-A", [("a1", volunteer, nine), ("a2", volunteer, nine + 120 * MINUTE)], now=nine + 130 * MINUTE)
    [result] = sync("phone-B", [("b1", volunteer, nine + 60 * MINUTE)], now=nine + 131 * MINUTE)
    assert result.result == "conflict" and scans(result="conflict")[0].conflict_side == "inside"
    [attendance] = attendances(volunteer)
    assert (attendance.checked_in_at, attendance.checked_out_at) == (nine, nine + 120 * MINUTE)
