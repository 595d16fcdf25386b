"""The ledger: recording attendance, the lifecycle, what counts, corrections, reconciliation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.errors import PermissionDenied, ValidationFailed
from hours.ledger import services as ledger
from hours.ledger.models import HourEntry, HourEntryEvent, HourSummary
from hours.review.verification import reject_entry, submit_entries, verify_entry
from tests.support import local


def submit_and_verify(entry, people, now):
    submit_entries(entry.event, by=people["coordinator"], now=now, entry_ids=[entry.id])
    verify_entry(entry, by=people["reviewer"], now=now)


@pytest.fixture
def verified_entry(people, service, make_attendance, now):
    """The volunteer's three hours (10 February 2026, 9:00-12:00), recorded, submitted and verified."""
    _event, shift = service
    (entry,) = ledger.record_attendance(
        make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12)), now=now
    )
    submit_and_verify(entry, people, now)
    return entry


def test_recording_is_idempotent_and_collect_finds_only_closed_attendance(db, people, service, make_attendance, now):
    _event, shift = service
    closed = make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    make_attendance(people["other_volunteer"], shift, local(2026, 2, 10, 9))  # still open
    assert ledger.collect_closed_attendances(now=now) == 1
    assert ledger.collect_closed_attendances(now=now) == 0
    assert ledger.record_attendance(closed, now=now) == []
    [entry] = db.session.scalars(select(HourEntry)).all()
    assert (entry.minutes, entry.kind, entry.attendance_id, ledger.entry_status(entry)) == (
        180,
        "scan",
        closed.id,
        "recorded",
    )
    assert entry.author_id == people["volunteer"].id  # a kiosk scan: the volunteer recorded it


def test_missing_checkout_credits_nothing(db, people, service, make_attendance, now):
    _event, shift = service
    attendance = make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), status="missing_checkout")
    assert ledger.collect_closed_attendances(now=now) == 0
    with pytest.raises(ValidationFailed) as refused:
        ledger.record_attendance(attendance, now=now)
    assert refused.value.code == "attendance_not_closed"


def test_theory_classes_are_not_service_hours(db, people, make_event, make_shift, make_attendance, now):
    event = make_event(local(2026, 2, 12, 19), local(2026, 2, 12, 21), kind="theory_class")
    shift = make_shift(event, local(2026, 2, 12, 19), local(2026, 2, 12, 21))
    attendance = make_attendance(people["volunteer"], shift, local(2026, 2, 12, 19), local(2026, 2, 12, 21))
    assert ledger.collect_closed_attendances(now=now) == 0
    assert ledger.record_attendance(attendance, now=now) == []


def test_pending_and_rejected_hours_never_count(db, people, service, make_attendance, now):
    _event, shift = service
    a1 = make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    [entry] = ledger.record_attendance(a1, now=now)
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 0  # recorded
    submit_entries(entry.event, by=people["coordinator"], now=now)
    assert ledger.entry_status(entry) == "submitted"
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 0  # submitted
    reject_entry(entry, by=people["reviewer"], now=now, reason="签退时间有误")
    db.session.commit()
    assert ledger.entry_status(entry) == "rejected"
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 0
    whole_year = (local(2026, 1, 1).date(), local(2026, 12, 31).date())
    assert ledger.verified_minutes(people["volunteer"].id, period=whole_year) == 0
    assert db.session.scalars(ledger.verified_minutes_query(year=2026)).all() == []
    statuses = db.session.scalars(
        select(HourEntryEvent.status).where(HourEntryEvent.entry_id == entry.id).order_by(HourEntryEvent.id)
    ).all()
    assert statuses == ["recorded", "submitted", "rejected"]


def test_verified_hours_count_by_year_period_and_kind(db, people, service, make_attendance, now):
    _event, shift = service
    (entry,) = ledger.record_attendance(
        make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 11)), now=now
    )
    submit_and_verify(entry, people, now)
    db.session.commit()
    volunteer_id = people["volunteer"].id
    assert ledger.verified_minutes(volunteer_id, year=2026) == 120
    assert ledger.verified_minutes(volunteer_id, year=2026, kind="scan") == 120
    assert ledger.verified_minutes(volunteer_id, year=2026, kind="backfill") == 0
    assert ledger.verified_minutes(volunteer_id, year=2025) == 0
    assert ledger.verified_minutes(volunteer_id) == 120
    assert ledger.verified_minutes(volunteer_id, period=(local(2026, 2, 10).date(), local(2026, 2, 10).date())) == 120
    assert ledger.verified_minutes(volunteer_id, period=(local(2026, 2, 11).date(), local(2026, 3, 1).date())) == 0


def test_service_crossing_midnight_on_31_december_counts_in_each_year(
    db, people, make_event, make_shift, make_attendance, now
):
    event = make_event(local(2025, 12, 31, 20), local(2026, 1, 1, 3))
    shift = make_shift(event, local(2025, 12, 31, 22), local(2026, 1, 1, 2))
    attendance = make_attendance(people["volunteer"], shift, local(2025, 12, 31, 22), local(2026, 1, 1, 1))
    entries = ledger.record_attendance(attendance, now=now)
    assert [(e.service_year, e.service_date.isoformat(), e.minutes) for e in entries] == [
        (2025, "2025-12-31", 120),
        (2026, "2026-01-01", 60),
    ]
    assert ledger.record_attendance(attendance, now=now) == []  # unique per attendance and year
    submit_entries(event, by=people["coordinator"], now=now)
    for entry in entries:
        verify_entry(entry, by=people["reviewer"], now=now)
    db.session.commit()
    assert ledger.verified_minutes(people["volunteer"].id, year=2025) == 120
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 60
    by_year = {
        year: db.session.execute(ledger.verified_minutes_query(year=year)).one().minutes for year in (2025, 2026)
    }
    assert by_year == {2025: 120, 2026: 60}


def test_a_correction_changes_the_total_and_leaves_the_original_visible(db, people, verified_entry, now):
    entry = verified_entry
    correction = ledger.correct_entry(entry, minutes=150, by=people["coordinator"], now=now, reason="提前离岗半小时")
    assert (correction.minutes, correction.amends_entry_id, ledger.entry_status(correction)) == (
        -30,
        entry.id,
        "submitted",
    )
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 180  # not verified yet
    verify_entry(correction, by=people["city_reviewer"], now=now)
    db.session.commit()
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 150
    original = db.session.get(HourEntry, entry.id)
    assert (original.minutes, ledger.entry_status(original)) == (180, "verified")
    assert (
        db.session.scalar(
            select(AuditLog.id).where(AuditLog.action == "hours.correct", AuditLog.target_id == correction.id)
        )
        is not None
    )


def test_the_next_collection_leaves_a_correction_alone(db, people, verified_entry, now):
    """A coordinator's correction does not change the attendance: the scheduler's next pass must not undo it."""
    entry = verified_entry
    correction = ledger.correct_entry(entry, minutes=150, by=people["coordinator"], now=now, reason="提前离岗半小时")
    verify_entry(correction, by=people["city_reviewer"], now=now)
    db.session.commit()
    assert ledger.collect_closed_attendances(now=now) == 0
    db.session.commit()
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 150
    assert (
        db.session.scalar(
            select(HourEntry.id).where(HourEntry.amends_entry_id == entry.id, HourEntry.id != correction.id)
        )
        is None
    )


def test_a_reversal_is_negative_and_brings_the_line_to_zero(db, people, service, make_attendance, now):
    _event, shift = service
    (entry,) = ledger.record_attendance(
        make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12)), now=now
    )
    with pytest.raises(ValidationFailed) as refused:
        ledger.reverse_entry(entry, by=people["reviewer"], now=now, reason="重复登记")
    assert refused.value.code == "nothing_to_reverse"
    submit_and_verify(entry, people, now)
    reversal = ledger.reverse_entry(entry, by=people["reviewer"], now=now, reason="重复登记")
    assert reversal.minutes == -180
    with pytest.raises(ValidationFailed) as waiting:
        ledger.correct_entry(entry, minutes=60, by=people["reviewer"], now=now, reason="again")
    assert waiting.value.code == "line_pending"
    verify_entry(reversal, by=people["city_reviewer"], now=now)
    db.session.commit()
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 0
    assert db.session.scalars(ledger.verified_services_query(volunteer_id=people["volunteer"].id)).all() == []


def test_correction_needs_a_reason_and_stays_within_the_activity(db, people, verified_entry, now):
    entry = verified_entry
    for minutes, reason, code in [
        (100, " ", "reason_required"),
        (10 * 60 + 1, "x", "minutes_out_of_range"),
        (-1, "x", "minutes_out_of_range"),
        (180, "x", "no_change"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            ledger.correct_entry(entry, minutes=minutes, by=people["reviewer"], now=now, reason=reason)
        assert refused.value.code == code


def test_changed_attendance_is_reconciled_by_one_delta(db, people, service, make_attendance, now):
    _event, shift = service
    attendance = make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    (entry,) = ledger.record_attendance(attendance, now=now)
    submit_and_verify(entry, people, now)
    db.session.commit()
    # The coordinator sets the real check-out time afterwards.
    attendance.checked_out_at = local(2026, 2, 10, 10, 30)
    attendance.corrected_by_id = people["coordinator"].id
    attendance.corrected_at = attendance.updated_at = local(2026, 2, 20, 9)
    attendance.note = "志愿者提前离开"
    db.session.commit()
    assert ledger.collect_closed_attendances(now=now) == 1
    assert ledger.collect_closed_attendances(now=now) == 0
    delta = db.session.scalar(select(HourEntry).where(HourEntry.amends_entry_id == entry.id))
    assert (delta.minutes, delta.author_id, delta.reason) == (-90, people["coordinator"].id, "志愿者提前离开")
    submit_entries(entry.event, by=people["coordinator"], now=now)
    with pytest.raises(PermissionDenied):
        verify_entry(delta, by=people["coordinator"], now=now)
    verify_entry(delta, by=people["reviewer"], now=now)
    db.session.commit()
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 90


def test_changed_attendance_withdraws_what_waits_and_voiding_reverses(db, people, service, make_attendance, now):
    _event, shift = service
    attendance = make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    (entry,) = ledger.record_attendance(attendance, now=now)
    attendance.checked_out_at = local(2026, 2, 10, 11)
    attendance.updated_at = local(2026, 2, 20, 9)
    db.session.commit()
    (replacement,) = ledger.record_attendance(attendance, now=now)
    assert ledger.entry_status(entry) == "withdrawn"
    assert (replacement.minutes, ledger.entry_status(replacement)) == (120, "recorded")
    submit_and_verify(replacement, people, now)
    attendance.status = "voided"
    attendance.updated_at = local(2026, 2, 21, 9)
    db.session.commit()
    (reversal,) = ledger.record_attendance(attendance, now=now)
    assert reversal.minutes == -120
    submit_and_verify(reversal, people, now)
    db.session.commit()
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 0


def test_verified_minutes_query_sums_per_volunteer_over_subtrees(
    db, orgs, people, make_event, make_shift, make_attendance, now
):
    nancheng = make_event(local(2026, 2, 10, 8), local(2026, 2, 10, 18))
    dongcheng = make_event(local(2026, 2, 11, 8), local(2026, 2, 11, 18), organization=orgs["dongcheng"])
    s1 = make_shift(nancheng, local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    s2 = make_shift(dongcheng, local(2026, 2, 11, 9), local(2026, 2, 11, 11))  # out at 12:00: 11:15 counts
    for volunteer, shift, day in [
        (people["volunteer"], s1, 10),
        (people["volunteer"], s2, 11),
        (people["other_volunteer"], s1, 10),
    ]:
        (entry,) = ledger.record_attendance(
            make_attendance(volunteer, shift, local(2026, 2, day, 9), local(2026, 2, day, 12)), now=now
        )
        submit_entries(entry.event, by=people["city_coordinator"], now=now, entry_ids=[entry.id])
        verify_entry(entry, by=people["reviewer"] if shift is s1 else people["dongcheng_reviewer"], now=now)
    db.session.commit()
    rows = {r.volunteer_id: r.minutes for r in db.session.execute(ledger.verified_minutes_query(year=2026))}
    assert rows == {people["volunteer"].id: 315, people["other_volunteer"].id: 180}
    organized = {
        r.volunteer_id: r.minutes
        for r in db.session.execute(ledger.verified_minutes_query(year=2026, organizer_paths=[orgs["dongcheng"].path]))
    }
    assert organized == {people["volunteer"].id: 135}
    affiliated = {
        r.volunteer_id: r.scan_minutes
        for r in db.session.execute(
            ledger.verified_minutes_query(
                year=2026, affiliation_paths=[orgs["nancheng"].path], volunteer_ids=[people["other_volunteer"].id]
            )
        )
    }
    assert affiliated == {people["other_volunteer"].id: 180}
    period = {
        r.volunteer_id: r.minutes
        for r in db.session.execute(
            ledger.verified_minutes_query(period=(local(2026, 2, 11).date(), local(2026, 2, 28).date()))
        )
    }
    assert period == {people["volunteer"].id: 135}
    summary = db.session.get(HourSummary, (people["volunteer"].id, 2026))
    assert (summary.scan_minutes, summary.backfill_minutes) == (315, 0)
