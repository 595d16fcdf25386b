"""Credited minutes: clipping to the shift window with grace, rounding per organization, year split."""

from __future__ import annotations

import pytest

from hours.ledger.minutes import apply_rounding, credited_pieces, rounding_rule_for
from hours.ledger.models import RoundingPolicy
from hours.ledger.services import record_attendance
from tests.support import local


def pieces(check_in, check_out, shift_start, shift_end, grace=15, rule="none"):
    return credited_pieces(check_in, check_out, shift_start, shift_end, grace=grace, rule=rule)


def test_time_inside_the_window_counts_whole():
    [piece] = pieces(
        local(2026, 2, 10, 9, 5), local(2026, 2, 10, 11, 50), local(2026, 2, 10, 9), local(2026, 2, 10, 12)
    )
    assert piece.minutes == 165
    assert piece.service_date.isoformat() == "2026-02-10" and piece.year == 2026


def test_early_arrival_and_late_departure_are_clipped_to_the_grace():
    # In at 07:30 (travel, waiting) and out at 13:40: only 08:45-12:15 counts.
    [piece] = pieces(
        local(2026, 2, 10, 7, 30), local(2026, 2, 10, 13, 40), local(2026, 2, 10, 9), local(2026, 2, 10, 12)
    )
    assert piece.minutes == 210
    assert piece.started_at == local(2026, 2, 10, 8, 45) and piece.ended_at == local(2026, 2, 10, 12, 15)


def test_grace_is_configurable():
    [piece] = pieces(
        local(2026, 2, 10, 7), local(2026, 2, 10, 14), local(2026, 2, 10, 9), local(2026, 2, 10, 12), grace=0
    )
    assert piece.minutes == 180


def test_a_stay_entirely_outside_the_window_credits_nothing():
    [piece] = pieces(local(2026, 2, 10, 14), local(2026, 2, 10, 16), local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    assert piece.minutes == 0


@pytest.mark.parametrize(
    "minutes, rule, expected",
    [
        (100, "none", 100),
        (100, "down_15", 90),
        (14, "down_15", 0),
        (105, "down_15", 105),
        (100, "nearest_30", 90),
        (104, "nearest_30", 90),
        (105, "nearest_30", 120),
        (14, "nearest_30", 0),
    ],
)
def test_rounding_rules(minutes, rule, expected):
    assert apply_rounding(minutes, rule) == expected


def test_service_crossing_midnight_on_31_december_counts_in_each_year():
    shift_start, shift_end = local(2025, 12, 31, 22), local(2026, 1, 1, 2)
    first, second = pieces(local(2025, 12, 31, 22), local(2026, 1, 1, 1, 30), shift_start, shift_end)
    assert (first.year, first.service_date.isoformat(), first.minutes) == (2025, "2025-12-31", 120)
    assert (second.year, second.service_date.isoformat(), second.minutes) == (2026, "2026-01-01", 90)


def test_rounding_across_new_year_keeps_the_rounded_total():
    # 23:20-00:40 = 80 minutes, down to 75: the first year keeps its 40, the second gets 35.
    first, second = pieces(
        local(2025, 12, 31, 23, 20),
        local(2026, 1, 1, 0, 40),
        local(2025, 12, 31, 23),
        local(2026, 1, 1, 1),
        rule="down_15",
    )
    assert (first.minutes, second.minutes) == (40, 35)


def test_an_ordinary_midnight_does_not_split():
    [piece] = pieces(local(2026, 5, 1, 22), local(2026, 5, 2, 1), local(2026, 5, 1, 22), local(2026, 5, 2, 1))
    assert piece.minutes == 180 and piece.service_date.isoformat() == "2026-05-01"


def test_nearest_ancestor_policy_applies(db, orgs):
    assert rounding_rule_for(orgs["nancheng_team"]) == "none"
    db.session.add(RoundingPolicy(organization_id=orgs["city"].id, rule="nearest_30"))
    db.session.add(RoundingPolicy(organization_id=orgs["nancheng"].id, rule="down_15"))
    db.session.commit()
    assert rounding_rule_for(orgs["nancheng_team"]) == "down_15"
    assert rounding_rule_for(orgs["nancheng"]) == "down_15"
    assert rounding_rule_for(orgs["dongcheng_team"]) == "nearest_30"


def test_recorded_entry_uses_grace_clipping_and_the_organizers_rounding(
    db, orgs, people, service, make_attendance, now
):
    _event, shift = service
    db.session.add(RoundingPolicy(organization_id=orgs["city"].id, rule="down_15"))
    db.session.commit()
    # In 08:20 (clipped to 08:45), out 12:10: 205 minutes, down to 195.
    attendance = make_attendance(people["volunteer"], shift, local(2026, 2, 10, 8, 20), local(2026, 2, 10, 12, 10))
    [entry] = record_attendance(attendance, now=now)
    assert entry.minutes == 195 and entry.rounding == "down_15"
    assert entry.started_at == local(2026, 2, 10, 8, 45)
