"""Kiosk and badge scans: check-in, repeat, check-out, and the assignment they need."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import PermissionDenied
from checkin.scanning.services import ScanRefused, scan_badge, scan_kiosk
from events.models import Assignment, AssignmentStatus, EventKind

MINUTE = timedelta(minutes=1)


def refused(call) -> ScanRefused:
    with pytest.raises(ScanRefused) as caught:
        call()
    assert caught.value.message and caught.value.status == 409
    return caught.value


def test_kiosk_scan_checks_in_then_repeat_then_out(
    db, event, shift, assignment, volunteer, kiosk, attendances, scans, now
):
    first = scan_kiosk(kiosk(now), volunteer, now=now)
    db.session.commit()
    assert (first.action, first.result) == ("check_in", "ok")
    assert first.volunteer.id == volunteer.id and first.shift.id == shift.id and first.position_name == "引导"
    assert first.at == now and first.duration_minutes == 0 and first.flags == []
    assert "Checked in" in first.message
    [attendance] = attendances(volunteer)
    assert attendance.status == "open" and attendance.checked_in_at == now and attendance.check_in_method == "kiosk"
    assert attendance.assignment_id == assignment.id and attendance.event_id == event.id

    repeat = scan_kiosk(kiosk(now + MINUTE), volunteer, now=now + MINUTE)
    db.session.commit()
    assert (repeat.action, repeat.result) == ("none", "repeat")
    assert repeat.attendance_id == attendance.id and repeat.duration_minutes == 1
    assert "Already checked in" in repeat.message
    [unchanged] = attendances(volunteer)
    assert unchanged.status == "open" and unchanged.checked_out_at is None

    out = scan_kiosk(kiosk(now + 95 * MINUTE), volunteer, now=now + 95 * MINUTE)
    db.session.commit()
    assert (out.action, out.result) == ("check_out", "ok") and out.duration_minutes == 95
    [closed] = attendances(volunteer)
    assert closed.status == "closed" and closed.checked_out_at == now + 95 * MINUTE and closed.minutes == 95
    assert db.session.get(Assignment, assignment.id).status == AssignmentStatus.COMPLETED.value
    assert [(s.action, s.result) for s in scans(user_id=volunteer.id)] == [
        ("check_in", "ok"),
        ("none", "repeat"),
        ("check_out", "ok"),
    ]


def test_repeat_right_after_check_out_changes_nothing(db, shift, assignment, volunteer, kiosk, attendances, now):
    scan_kiosk(kiosk(now), volunteer, now=now)
    scan_kiosk(kiosk(now + 5 * MINUTE), volunteer, now=now + 5 * MINUTE)
    again = scan_kiosk(kiosk(now + 6 * MINUTE), volunteer, now=now + 6 * MINUTE)
    assert again.result == "repeat" and "Already checked out" in again.message
    [attendance] = attendances(volunteer)
    assert attendance.status == "closed" and attendance.checked_out_at == now + 5 * MINUTE


def test_a_second_stay_on_the_same_shift(db, shift, assignment, volunteer, kiosk, attendances, now):
    """Out for lunch and back: the completed assignment still admits a check-in while the shift runs."""
    for minutes in (0, 30, 60):
        scan_kiosk(kiosk(now + minutes * MINUTE), volunteer, now=now + minutes * MINUTE)
    first, second = attendances(volunteer)
    assert first.status == "closed" and second.status == "open" and second.assignment_id == assignment.id


def test_badge_scan_by_a_coordinator(
    db, event, shift, assignment, volunteer, coordinator, badge, attendances, scans, now
):
    result = scan_badge(badge(volunteer, now), event, by=coordinator, now=now, device_id="phone-1", client_scan_id="c1")
    db.session.commit()
    assert (result.action, result.result) == ("check_in", "ok")
    [attendance] = attendances(volunteer)
    assert attendance.check_in_method == "badge" and attendance.checked_in_by_id == coordinator.id
    [scan] = scans(user_id=volunteer.id)
    assert scan.device_id == "phone-1" and scan.scanned_by_id == coordinator.id and scan.token_digest

    out = scan_badge(badge(volunteer, now + 60 * MINUTE), event, by=coordinator, now=now + 60 * MINUTE)
    assert out.action == "check_out" and attendances(volunteer)[0].checked_out_by_id == coordinator.id


def test_the_same_client_scan_id_is_applied_once(
    db, event, shift, assignment, volunteer, coordinator, badge, scans, now
):
    token = badge(volunteer, now)
    first = scan_badge(token, event, by=coordinator, now=now, device_id="phone-1", client_scan_id="c1")
    later = now + 10 * MINUTE  # the token has expired by now: the first answer is given all the same
    again = scan_badge(token, event, by=coordinator, now=later, device_id="phone-1", client_scan_id="c1")
    assert (again.action, again.result, again.attendance_id) == ("check_in", "ok", first.attendance_id)
    assert len(scans(user_id=volunteer.id)) == 1


def test_a_refused_scan_re_sent_is_refused_the_same_way(db, event, shift, volunteer, coordinator, badge, scans, now):
    token = badge(volunteer, now)
    assert (
        refused(lambda: scan_badge(token, event, by=coordinator, now=now, device_id="d", client_scan_id="x")).code
        == "wrong_event"
    )
    assert (
        refused(lambda: scan_badge(token, event, by=coordinator, now=now, device_id="d", client_scan_id="x")).code
        == "wrong_event"
    )
    assert len(scans(device_id="d")) == 1


def test_replayed_badge_token_is_refused_on_another_device(
    db, event, shift, assignment, volunteer, coordinator, badge, attendances, scans, now
):
    token = badge(volunteer, now)
    scan_badge(token, event, by=coordinator, now=now, device_id="phone-1")
    same_device = scan_badge(token, event, by=coordinator, now=now + timedelta(seconds=20), device_id="phone-1")
    assert same_device.result == "repeat"
    replay = refused(
        lambda: scan_badge(token, event, by=coordinator, now=now + timedelta(seconds=25), device_id="phone-2")
    )
    assert replay.code == "token_replayed"
    assert [s.result for s in scans(user_id=volunteer.id)] == ["ok", "repeat", "token_replayed"]
    assert len(attendances(volunteer)) == 1


def test_several_shifts_the_one_under_way_is_chosen(
    db, position, make_shift, assign, volunteer, kiosk, attendances, now
):
    later = make_shift(position, starts_at=now + 20 * MINUTE, ends_at=now + 3 * 60 * MINUTE)
    current = make_shift(position, starts_at=now - 60 * MINUTE, ends_at=now + 10 * MINUTE)
    assign(later, volunteer)
    assign(current, volunteer)
    assert scan_kiosk(kiosk(now), volunteer, now=now).shift.id == current.id


def test_several_shifts_the_earliest_upcoming_is_chosen(db, position, make_shift, assign, volunteer, kiosk, now):
    first = make_shift(position, starts_at=now + 10 * MINUTE, ends_at=now + 60 * MINUTE)
    second = make_shift(position, starts_at=now + 20 * MINUTE, ends_at=now + 3 * 60 * MINUTE)
    assign(second, volunteer)
    assign(first, volunteer)
    result = scan_kiosk(kiosk(now), volunteer, now=now)
    assert result.shift.id == first.id and result.duration_minutes == 0


def test_check_in_opens_before_the_shift(db, event, position, make_shift, assign, volunteer, kiosk, now):
    shift = make_shift(position, starts_at=now + 2 * 60 * MINUTE)
    assign(shift, volunteer)
    early = refused(lambda: scan_kiosk(kiosk(now), volunteer, now=now))
    assert early.code == "not_open_yet" and "opens at" in early.message
    at = shift.starts_at - 29 * MINUTE  # Event.checkin_opens_minutes = 30
    assert scan_kiosk(kiosk(at), volunteer, now=at).action == "check_in"


def test_check_in_closes_when_the_shift_ends(db, position, make_shift, assign, volunteer, kiosk, now):
    shift = make_shift(position, starts_at=now - 4 * 60 * MINUTE, ends_at=now - MINUTE)
    assign(shift, volunteer)
    assert refused(lambda: scan_kiosk(kiosk(now), volunteer, now=now)).code == "shift_over"


def test_a_shift_kiosk_admits_only_that_shift(db, position, shift, make_shift, assign, volunteer, kiosk, now):
    other = make_shift(position, starts_at=now - 60 * MINUTE, ends_at=now + 60 * MINUTE)
    assign(other, volunteer)
    assert refused(lambda: scan_kiosk(kiosk(now, shift), volunteer, now=now)).code == "no_assignment"
    assert scan_kiosk(kiosk(now, other), volunteer, now=now).shift.id == other.id


def test_no_assignment_and_wrong_event(db, event, make_event, shift, volunteer, coordinator, kiosk, badge, scans, now):
    assert refused(lambda: scan_kiosk(kiosk(now), volunteer, now=now)).code == "no_assignment"
    badge_refusal = refused(lambda: scan_badge(badge(volunteer, now), event, by=coordinator, now=now))
    assert badge_refusal.code == "wrong_event"
    elsewhere = make_event()
    token = kiosk(now, of=elsewhere)
    assert refused(lambda: scan_kiosk(token, volunteer, now=now, event=event)).code == "wrong_event"
    assert [s.result for s in scans(user_id=volunteer.id)] == ["no_assignment", "wrong_event", "wrong_event"]


def test_a_kiosk_token_naming_a_shift_of_another_event_is_wrong_event(
    db, make_event, make_position, make_shift, event, volunteer, kiosk, now
):
    foreign_shift = make_shift(make_position(make_event()))
    token = kiosk(now, foreign_shift)  # signed for this event, but the shift belongs to another
    assert refused(lambda: scan_kiosk(token, volunteer, now=now)).code == "wrong_event"


def test_never_two_open_check_ins(
    db, event, make_event, make_position, make_shift, assign, shift, assignment, volunteer, kiosk, attendances, now
):
    other_event = make_event(starts_at=now - 60 * MINUTE, ends_at=now + 5 * 60 * MINUTE, title="河小青护河")
    other_shift = make_shift(make_position(other_event), starts_at=now - 30 * MINUTE)
    assign(other_shift, volunteer)
    scan_kiosk(kiosk(now), volunteer, now=now)
    elsewhere = refused(lambda: scan_kiosk(kiosk(now + 10 * MINUTE, of=other_event), volunteer, now=now + 10 * MINUTE))
    assert elsewhere.code == "already_checked_in_elsewhere" and "河小青护河" not in elsewhere.message
    assert event.title in elsewhere.message
    assert [a.status for a in attendances(volunteer)] == ["open"]


def test_cancelled_event_and_disabled_volunteer(
    db, event, shift, assignment, volunteer, coordinator, kiosk, badge, now
):
    volunteer.is_disabled = True
    db.session.commit()
    assert (
        refused(lambda: scan_badge(badge(volunteer, now), event, by=coordinator, now=now)).code == "volunteer_unknown"
    )
    volunteer.is_disabled = False
    event.status = "cancelled"
    db.session.commit()
    assert refused(lambda: scan_kiosk(kiosk(now), volunteer, now=now)).code == "not_allowed"


def test_refused_tokens_are_logged(db, event, shift, assignment, volunteer, coordinator, kiosk, badge, scans, now):
    stale = now - 2 * MINUTE
    cases = [
        (lambda: scan_kiosk(kiosk(stale), volunteer, now=now), "token_expired"),
        (lambda: scan_kiosk(badge(volunteer, now), volunteer, now=now), "token_wrong_kind"),
        (lambda: scan_kiosk("K.1..1.AAAAAAAAAAAAAAAAAAAAAA", volunteer, now=now), "token_forged"),
        (lambda: scan_kiosk("not a token", volunteer, now=now), "token_malformed"),
        (lambda: scan_badge("B" * 10240, event, by=coordinator, now=now), "token_too_long"),
        (lambda: scan_badge(badge(volunteer, stale), event, by=coordinator, now=now), "token_expired"),
    ]
    for call, code in cases:
        assert refused(call).code == code
    assert [s.result for s in scans()] == [code for _, code in cases]
    assert all(s.action == "none" and s.attendance_id is None for s in scans())


def test_only_the_events_coordinators_scan_badges(
    db, event, shift, assignment, volunteer, outsider, make_user, badge, scans, now
):
    other_volunteer = make_user()
    for by in (other_volunteer, volunteer, outsider):
        with pytest.raises(PermissionDenied) as caught:
            scan_badge(badge(volunteer, now), event, by=by, now=now)
        assert caught.value.status == 403
    assert scans() == []


def test_training_course_check_out_grants_its_credential(
    db, make_event, make_position, make_shift, assign, make_credential_type, volunteer, coordinator, badge, now
):
    from events.training.credentials import has_valid_credential

    credential_type = make_credential_type("急救培训合格", valid_days=365)
    course = make_event(
        kind=EventKind.TRAINING.value,
        grants_credential_type_id=credential_type.id,
        starts_at=now - 60 * MINUTE,
        ends_at=now + 5 * 60 * MINUTE,
    )
    shift = make_shift(make_position(course), starts_at=now - 30 * MINUTE)
    assign(shift, volunteer)
    scan_badge(badge(volunteer, now), course, by=coordinator, now=now)
    assert not has_valid_credential(volunteer, credential_type, now)
    out = now + 90 * MINUTE
    scan_badge(badge(volunteer, out), course, by=coordinator, now=out)
    assert has_valid_credential(volunteer, credential_type, out)


def test_every_refusal_code_has_its_own_message(app):
    from checkin.refusals import REFUSAL_CODES, refusal_message

    fallback = refusal_message("no_such_code")
    for code in REFUSAL_CODES:
        assert refusal_message(code) != fallback and "%(" not in refusal_message(code)
        assert ScanRefused(code).code == code and ScanRefused(code).status == 409


def test_a_re_sent_refusal_keeps_a_readable_message(
    db, event, position, make_shift, assign, volunteer, coordinator, badge, now
):
    assign(make_shift(position, starts_at=now + 3 * 60 * MINUTE), volunteer)
    token = badge(volunteer, now)
    first = refused(lambda: scan_badge(token, event, by=coordinator, now=now, device_id="d", client_scan_id="1"))
    again = refused(lambda: scan_badge(token, event, by=coordinator, now=now, device_id="d", client_scan_id="1"))
    assert first.code == again.code == "not_open_yet" and "%(" not in again.message


def test_parsed_claims_are_accepted_and_results_serialize(
    db, event, shift, assignment, volunteer, coordinator, kiosk, badge, now
):
    from checkin.tokens import parse_badge_token, parse_kiosk_token

    result = scan_kiosk(parse_kiosk_token(kiosk(now), now=now), volunteer, now=now)
    summary = result.to_dict()
    assert summary["action"] == "check_in" and summary["volunteer"] == {"id": volunteer.id, "name": "陈小明"}
    assert summary["shift"]["id"] == shift.id and summary["attendance_id"] == result.attendance_id
    assert summary["at"] == now.isoformat() and summary["flags"] == [] and summary["code"] is None
    later = now + 30 * MINUTE
    out = scan_badge(parse_badge_token(badge(volunteer, later), now=later), event, by=coordinator, now=later)
    assert out.to_dict()["duration_minutes"] == 30 and out.accepted
