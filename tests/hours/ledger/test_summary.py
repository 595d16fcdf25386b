"""The stored summary and entry states: kept in step, rebuilt from the ledger, checked against it."""

from __future__ import annotations

from sqlalchemy import func, select, text

from hours.ledger import services as ledger
from hours.ledger import summary
from hours.ledger.models import HourEntryState, HourSummary
from hours.review.verification import reject_entry, submit_entries, verify_entry
from tests.support import local


def _ledger_with_history(db, people, make_event, make_shift, make_attendance, now):
    """Verified, rejected, pending, corrected and year-crossing entries for two volunteers."""
    event = make_event(local(2025, 12, 31, 20), local(2026, 1, 1, 3))
    night = make_shift(event, local(2025, 12, 31, 22), local(2026, 1, 1, 2))
    day = make_shift(event, local(2025, 12, 31, 20), local(2025, 12, 31, 23))
    crossing = ledger.record_attendance(
        make_attendance(people["volunteer"], night, local(2025, 12, 31, 22), local(2026, 1, 1, 2)), now=now
    )
    (rejected,) = ledger.record_attendance(
        make_attendance(people["other_volunteer"], day, local(2025, 12, 31, 20), local(2025, 12, 31, 23)), now=now
    )
    submit_entries(event, by=people["coordinator"], now=now)
    for entry in crossing:
        verify_entry(entry, by=people["reviewer"], now=now)
    reject_entry(rejected, by=people["reviewer"], now=now, reason="未到岗")
    correction = ledger.correct_entry(crossing[1], minutes=100, by=people["coordinator"], now=now, reason="提前离开")
    verify_entry(correction, by=people["reviewer"], now=now)
    ledger.record_attendance(  # left pending
        make_attendance(people["other_volunteer"], night, local(2025, 12, 31, 22), local(2026, 1, 1, 0)), now=now
    )
    db.session.commit()


def test_summary_is_kept_in_step_and_the_rebuild_equals_the_sums(
    db, people, make_event, make_shift, make_attendance, now
):
    _ledger_with_history(db, people, make_event, make_shift, make_attendance, now)
    before = {
        (s.volunteer_id, s.service_year): (s.scan_minutes, s.backfill_minutes)
        for s in db.session.scalars(select(HourSummary))
    }
    assert before == {(people["volunteer"].id, 2025): (120, 0), (people["volunteer"].id, 2026): (100, 0)}
    assert summary.differences() == []
    counts = summary.rebuild(now=now)
    assert (counts["states_written"], counts["summaries_written"]) == (0, 0)  # nothing differed
    counts = summary.rebuild(now=now, full=True)
    db.session.commit()
    after = {
        (s.volunteer_id, s.service_year): (s.scan_minutes, s.backfill_minutes)
        for s in db.session.scalars(select(HourSummary))
    }
    assert after == before
    assert (
        counts["states"]
        == counts["states_written"]
        == db.session.scalar(select(func.count()).select_from(HourEntryState))
    )
    assert summary.differences() == []
    # The sums straight from the ledger rows, independent of the derived tables.
    raw = db.session.execute(
        text(
            "SELECT e.volunteer_id, e.service_year, SUM(e.minutes) FROM hour_entries e "
            "WHERE (SELECT ev.status FROM hour_entry_events ev WHERE ev.entry_id = e.id ORDER BY ev.id DESC LIMIT 1)"
            " = 'verified' GROUP BY e.volunteer_id, e.service_year"
        )
    ).all()
    assert {(v, y): (m, 0) for v, y, m in raw} == after


def test_check_summary_reports_differences_and_rebuild_repairs_them(
    app, db, people, make_event, make_shift, make_attendance, now
):
    _ledger_with_history(db, people, make_event, make_shift, make_attendance, now)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hours", "check-summary"])
    assert result.exit_code == 0, result.output
    # Tamper with the derived tables (they are mutable; the ledger is not).
    db.session.execute(text("UPDATE hour_summaries SET scan_minutes = scan_minutes + 7 WHERE service_year = 2026"))
    db.session.execute(text("UPDATE hour_entry_states SET status = 'verified' WHERE status = 'rejected'"))
    db.session.commit()
    result = runner.invoke(args=["hours", "check-summary"])
    assert result.exit_code == 1
    assert "summary scan=107 backfill=0, ledger says scan=100" in result.output
    assert "state status is 'verified', ledger says 'rejected'" in result.output
    db.session.execute(
        text("DELETE FROM hour_entry_states WHERE entry_id = (SELECT min(entry_id) FROM hour_entry_states)")
    )
    db.session.execute(
        text(
            "INSERT INTO hour_summaries (volunteer_id, service_year, scan_minutes, backfill_minutes, "
            f"updated_at) VALUES ({people['coordinator'].id}, 2026, 60, 0, '2026-01-01 00:00:00')"
        )
    )
    db.session.commit()
    assert "no state row" in runner.invoke(args=["hours", "check-summary"]).output
    result = runner.invoke(args=["hours", "rebuild-summary"])
    assert result.exit_code == 0, result.output
    assert "(2 state rows and 2 summary rows written)" in result.output  # one updated, one inserted
    db.session.expire_all()
    assert runner.invoke(args=["hours", "check-summary"]).exit_code == 0
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 100
    assert ledger.verified_minutes(people["other_volunteer"].id, year=2025) == 0


def test_collect_command_and_scheduled_job_record_closed_attendance(app, db, people, service, make_attendance, now):
    from hours.tasks import collect_hours

    _event, shift = service
    make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    assert collect_hours(now) == {"entries": 1}
    assert collect_hours(now) is None  # once per period
    make_attendance(people["other_volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 11))
    result = app.test_cli_runner().invoke(args=["hours", "collect"])
    assert result.exit_code == 0 and "1 entries recorded" in result.output
