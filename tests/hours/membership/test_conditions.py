"""Each of the four conditions on its own, met and missing, computed by the services with an injected `now`."""

from __future__ import annotations

from datetime import date

import pytest

from app.timeutil import utcnow
from hours.ledger.services import collect_closed_attendances, verified_minutes
from hours.membership.decisions import describe_missing, record_evaluation
from hours.membership.progress import add_months, progress_of, service_period, whole_months
from tests.support import local


def missing_of(applicant, now):
    return progress_of(applicant, now=now).missing


# ---- 1. months since becoming an activist ------------------------------------------------------


@pytest.mark.parametrize(
    "since, today, months",
    [
        (date(2025, 1, 15), date(2025, 4, 14), 2),
        (date(2025, 1, 15), date(2025, 4, 15), 3),
        (date(2025, 1, 31), date(2025, 4, 29), 2),
        (date(2025, 1, 31), date(2025, 4, 30), 3),  # no 31 April: the month ends on the 30th
        (date(2024, 11, 30), date(2025, 2, 27), 2),
        (date(2024, 11, 30), date(2025, 2, 28), 3),  # across the year end, into a short February
        (date(2025, 5, 1), date(2025, 4, 30), 0),  # not yet an activist
        (None, date(2025, 4, 30), 0),
    ],
)
def test_whole_months_counts_calendar_months(since, today, months):
    assert whole_months(since, today) == months


def test_add_months_clamps_to_the_month_end():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)


def test_months_condition_on_the_boundary_day(make_applicant):
    applicant = make_applicant(activist_since=date(2025, 1, 31))
    day_before = progress_of(applicant, now=local(2025, 4, 29, 23, 59))
    assert "months" in day_before.missing
    assert day_before.months == 2
    assert day_before.months_reached_on == date(2025, 4, 30)
    assert "2 of 3 months since becoming an activist; the 3 months are complete on 2025-04-30." in describe_missing(
        day_before
    )
    on_the_day = progress_of(applicant, now=local(2025, 4, 30, 0, 1))
    assert "months" not in on_the_day.missing
    assert on_the_day.conditions["months"].met


def test_months_condition_uses_the_local_date(make_applicant):
    """23:30 UTC on 29 April is already 30 April in Dongguan."""
    applicant = make_applicant(activist_since=date(2025, 1, 31))
    assert "months" not in missing_of(applicant, local(2025, 4, 30, 7, 30))


def test_missing_activist_date_is_reported(db, make_applicant):
    """Registration asks for it, but an imported or edited record may lack it."""
    applicant = make_applicant()
    applicant.activist_since = None
    db.session.commit()
    progress = progress_of(applicant, now=local(2025, 6, 1, 9))
    assert "months" in progress.missing
    assert "No date of becoming an activist is recorded." in describe_missing(progress)


def test_minimum_months_is_configuration(app, make_applicant):
    applicant = make_applicant(activist_since=date(2025, 1, 15))
    app.config["MEMBERSHIP_MIN_MONTHS"] = 6
    assert "months" in missing_of(applicant, local(2025, 6, 1, 9))
    assert "months" not in missing_of(applicant, local(2025, 7, 15, 9))


# ---- 2. theory class hours ----------------------------------------------------------------------


def test_theory_hours_met_at_twelve_class_hours(make_applicant, serve):
    applicant = make_applicant()
    serve(applicant, start=local(2025, 3, 1, 9), minutes=6 * 45, kind="theory_class")
    serve(applicant, start=local(2025, 3, 8, 9), minutes=6 * 45 - 1, kind="theory_class")
    progress = progress_of(applicant, now=local(2025, 6, 1, 9))
    assert progress.theory_minutes == 12 * 45 - 1
    assert "theory" in progress.missing
    assert progress.conditions["theory"].value == 11.9  # never shown as 12 while short of it
    assert "0.1 more theory class hours needed (11.9 of 12)." in describe_missing(progress)
    serve(applicant, start=local(2025, 3, 15, 9), minutes=1, kind="theory_class")
    assert "theory" not in missing_of(applicant, local(2025, 6, 1, 9))


def test_class_time_is_clipped_to_the_class(make_applicant, serve):
    """Arriving early or staying late is not class time; arriving late loses what was missed."""
    applicant = make_applicant()
    serve(
        applicant,
        start=local(2025, 3, 1, 9),
        minutes=540,
        kind="theory_class",
        checked_in=local(2025, 3, 1, 8, 0),
        checked_out=local(2025, 3, 1, 19, 0),
    )
    serve(
        applicant,
        start=local(2025, 3, 2, 9),
        minutes=120,
        kind="theory_class",
        checked_in=local(2025, 3, 2, 9, 30),
        checked_out=local(2025, 3, 2, 11, 0),
    )
    assert progress_of(applicant, now=local(2025, 6, 1, 9)).theory_minutes == 540 + 90


def test_each_class_counts_whole_minutes(make_applicant, serve):
    """Like the ledger, each stay credits whole minutes: two stays of 30.5 minutes make 60, not 61."""
    from datetime import timedelta

    applicant = make_applicant()
    for day in (1, 2):
        start = local(2025, 3, day, 9)
        serve(
            applicant,
            start=start,
            minutes=60,
            kind="theory_class",
            checked_out=start + timedelta(minutes=30, seconds=30),
        )
    assert progress_of(applicant, now=local(2025, 6, 1, 9)).theory_minutes == 60


def test_only_closed_class_attendance_counts(db, make_applicant, serve):
    applicant = make_applicant()
    attendance = serve(applicant, start=local(2025, 3, 1, 9), minutes=540, kind="theory_class")
    attendance.status = "voided"
    db.session.commit()
    assert progress_of(applicant, now=local(2025, 6, 1, 9)).theory_minutes == 0


def test_class_hour_length_is_configuration(app, make_applicant, serve):
    applicant = make_applicant()
    serve(applicant, start=local(2025, 3, 1, 9), minutes=12 * 45, kind="theory_class")
    assert "theory" not in missing_of(applicant, local(2025, 6, 1, 9))
    app.config["MEMBERSHIP_CLASS_HOUR_MINUTES"] = 60
    progress = progress_of(applicant, now=local(2025, 6, 1, 9))
    assert "theory" in progress.missing
    assert progress.conditions["theory"].value == 9.0


def test_theory_class_time_is_not_service_time(make_applicant, serve):
    """Twenty hours in theory classes: the class hours are met, the service hours are not."""
    applicant = make_applicant()
    attendance = serve(applicant, start=local(2025, 3, 1, 8), minutes=20 * 60, kind="theory_class")
    assert collect_closed_attendances(now=utcnow()) == 0  # the ledger makes no entry of it
    assert verified_minutes(applicant.id, year=2025) == 0
    progress = progress_of(applicant, now=local(2025, 6, 1, 9))
    assert progress.theory_minutes == 20 * 60
    assert "theory" not in progress.missing
    assert "service" in progress.missing
    assert progress.service_minutes == 0
    assert attendance.event.kind == "theory_class"


# ---- 3. verified service hours in the year ---------------------------------------------------


def test_service_hours_met_at_twenty_verified_hours(make_applicant, serve):
    applicant = make_applicant()
    serve(applicant, start=local(2025, 3, 1, 8), minutes=10 * 60)
    serve(applicant, start=local(2025, 3, 2, 8), minutes=10 * 60 - 1)
    progress = progress_of(applicant, now=local(2025, 6, 1, 9))
    assert progress.service_minutes == 20 * 60 - 1
    assert "service" in progress.missing
    assert "0.1 more verified service hours needed in 2025 (19.9 of 20)." in describe_missing(progress)
    serve(applicant, start=local(2025, 3, 3, 8), minutes=1)
    assert "service" not in missing_of(applicant, local(2025, 6, 1, 9))


@pytest.mark.parametrize("status", ["recorded", "submitted", "rejected"])
def test_only_verified_hours_count(make_applicant, serve, status):
    applicant = make_applicant()
    serve(applicant, start=local(2025, 3, 1, 8), minutes=25 * 60, status=status)
    progress = progress_of(applicant, now=local(2025, 6, 1, 9))
    assert progress.service_minutes == 0
    assert "service" in progress.missing


def test_calendar_year_basis(app, make_applicant, serve):
    app.config["MEMBERSHIP_YEAR_BASIS"] = "calendar"
    applicant = make_applicant()
    serve(applicant, start=local(2024, 12, 20, 8), minutes=20 * 60)  # last year: does not count
    assert "service" in missing_of(applicant, local(2025, 1, 10, 9))
    serve(applicant, start=local(2025, 1, 5, 8), minutes=20 * 60)
    progress = progress_of(applicant, now=local(2025, 1, 10, 9))
    assert progress.service_minutes == 20 * 60
    assert progress.period.label == "2025"
    assert "service" not in progress.missing


def test_school_year_basis_starts_on_1_september(app, make_applicant, serve):
    app.config["MEMBERSHIP_YEAR_BASIS"] = "school"
    applicant = make_applicant()
    serve(applicant, start=local(2025, 8, 20, 8), minutes=20 * 60)  # school year 2024-2025
    serve(applicant, start=local(2025, 9, 2, 8), minutes=10 * 60)  # school year 2025-2026
    autumn = progress_of(applicant, now=local(2025, 10, 1, 9))
    assert autumn.period.label == "2025–2026"
    assert autumn.service_minutes == 10 * 60
    assert "service" in autumn.missing
    serve(applicant, start=local(2026, 1, 5, 8), minutes=10 * 60)  # school year 2025-2026
    spring = progress_of(applicant, now=local(2026, 3, 1, 9))
    assert spring.service_minutes == 20 * 60  # across the calendar year end, inside one school year
    assert "service" not in spring.missing
    summer = progress_of(applicant, now=local(2025, 8, 31, 23))
    assert summer.period.label == "2024–2025"
    assert summer.service_minutes == 20 * 60
    app.config["MEMBERSHIP_YEAR_BASIS"] = "calendar"
    assert progress_of(applicant, now=local(2026, 3, 1, 9)).service_minutes == 10 * 60


def test_service_period_bounds():
    assert service_period(date(2025, 8, 31), "school").start == date(2024, 9, 1)
    assert service_period(date(2025, 9, 1), "school").end == date(2026, 8, 31)
    assert service_period(date(2025, 9, 1), "calendar").start == date(2025, 1, 1)


def test_unknown_year_basis_is_a_configuration_error(app, make_applicant):
    applicant = make_applicant()
    app.config["MEMBERSHIP_YEAR_BASIS"] = "fiscal"
    with pytest.raises(RuntimeError, match="MEMBERSHIP_YEAR_BASIS"):
        progress_of(applicant, now=local(2025, 6, 1, 9))


# ---- 4. ideology evaluation ------------------------------------------------------------------


def test_evaluation_condition_follows_the_latest_result(db, make_applicant, people):
    applicant = make_applicant()
    progress = progress_of(applicant, now=local(2025, 6, 1, 9))
    assert "evaluation" in progress.missing
    assert "No ideology evaluation is recorded yet." in describe_missing(progress)
    record_evaluation(applicant, passed=True, note="", by=people["branch"], now=local(2025, 5, 1, 9))
    db.session.commit()
    assert "evaluation" not in missing_of(applicant, local(2025, 6, 1, 9))
    record_evaluation(applicant, passed=False, note="复评未通过", by=people["branch"], now=local(2025, 5, 20, 9))
    db.session.commit()
    progress = progress_of(applicant, now=local(2025, 6, 1, 9))
    assert "evaluation" in progress.missing
    assert "The latest ideology evaluation was not passed." in describe_missing(progress)


def test_all_four_met_makes_the_applicant_ready(db, make_applicant, serve, people):
    applicant = make_applicant(activist_since=date(2025, 1, 10))
    serve(applicant, start=local(2025, 2, 1, 9), minutes=12 * 45, kind="theory_class")
    serve(applicant, start=local(2025, 3, 1, 8), minutes=20 * 60)
    record_evaluation(applicant, passed=True, note="", by=people["branch"], now=local(2025, 3, 5, 9))
    db.session.commit()
    assert progress_of(applicant, now=local(2025, 4, 9, 9)).missing == ["months"]
    ready = progress_of(applicant, now=local(2025, 4, 10, 9))
    assert ready.ready and ready.missing == [] and describe_missing(ready) == []
