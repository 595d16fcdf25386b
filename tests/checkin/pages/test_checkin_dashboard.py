"""The live dashboard: per position and shift, checked in / expected, on site, late, no-shows, hand-over alerts;
two aggregate queries whatever the number of shifts."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event

from app.timeutil import to_local
from checkin.coordinator.dashboard import live_dashboard, pick_day
from checkin.scanning.services import scan_kiosk
from checkin.tokens import kiosk_token, parse_kiosk_token
from events.models import AssignmentStatus


@pytest.fixture
def kiosk_scan(db, event):
    """kiosk_scan(volunteer, at): the volunteer scans the event's kiosk at `at` (committed)."""

    def scan(volunteer, at):
        result = scan_kiosk(parse_kiosk_token(kiosk_token(event.id, shift_id=None, now=at), now=at), volunteer, now=at)
        db.session.commit()
        return result

    return scan


@pytest.fixture
def site(make_position, make_shift, make_user, assign, kiosk_scan, event, now):
    """Two posts. 路口引导: a shift under way (3 assigned: one in, one came and left, one missing) and one that
    ended (one never came, one marked no-show). 医疗点: a shift ending in 10 minutes whose follower has nobody."""
    crossing = make_position(event, name="路口引导")
    under_way = make_shift(crossing, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2))
    ended = make_shift(
        crossing, starts_at=now - timedelta(hours=1, minutes=50), ends_at=now - timedelta(hours=1, minutes=5)
    )
    first_aid = make_position(event, name="医疗点")
    ending = make_shift(first_aid, starts_at=now - timedelta(hours=2, minutes=50), ends_at=now + timedelta(minutes=10))
    following = make_shift(first_aid, starts_at=now + timedelta(minutes=10), ends_at=now + timedelta(hours=3))
    people = {
        name: make_user(name=name) for name in ("在岗", "已离开", "迟到", "没来", "缺勤", "接班甲", "接班乙", "医生")
    }
    for name in ("在岗", "已离开", "迟到"):
        assign(under_way, people[name])
    assign(ended, people["没来"])
    assign(ended, people["缺勤"], status=AssignmentStatus.NO_SHOW.value)
    assign(ending, people["医生"])
    assign(following, people["接班甲"])
    assign(following, people["接班乙"])
    kiosk_scan(people["在岗"], now - timedelta(minutes=50))
    kiosk_scan(people["已离开"], now - timedelta(minutes=55))
    kiosk_scan(people["已离开"], now - timedelta(minutes=20))
    kiosk_scan(people["医生"], now - timedelta(hours=2, minutes=45))
    return {"under_way": under_way, "ended": ended, "ending": ending, "following": following, "people": people}


def _lines(board) -> dict[int, object]:
    return {line.id: line for _, _, lines in board.positions for line in lines}


def test_the_dashboard_counts_each_shift(event, site, now):
    board = live_dashboard(event, now=now, day=to_local(now).date())
    lines = _lines(board)
    under_way = lines[site["under_way"].id]
    assert (under_way.checked_in, under_way.expected, under_way.on_site, under_way.late, under_way.no_shows) == (
        2,
        3,
        1,
        1,
        0,
    )
    assert under_way.state == "under_way"
    ended = lines[site["ended"].id]
    assert (ended.checked_in, ended.expected, ended.late, ended.no_shows, ended.state) == (0, 2, 0, 2, "ended")
    following = lines[site["following"].id]
    assert (following.expected, following.checked_in, following.state) == (2, 0, "upcoming")
    assert board.totals["expected"] == 3 + 2 + 1 + 2 and board.totals["on_site"] == 2


def test_a_post_whose_next_shift_has_nobody_raises_a_hand_over_alert(event, site, now, kiosk_scan):
    board = live_dashboard(event, now=now, day=to_local(now).date())
    [handover] = board.handovers
    assert handover.position_name == "医疗点" and handover.ends_in_minutes in (9, 10)
    assert (handover.current.id, handover.following.id) == (site["ending"].id, site["following"].id)
    assert _lines(board)[site["following"].id].handover_alert is True
    assert _lines(board)[site["under_way"].id].handover_alert is False

    kiosk_scan(site["people"]["接班甲"], now)  # the next shift's first volunteer arrives
    assert live_dashboard(event, now=now, day=to_local(now).date()).handovers == []


def test_no_alert_while_the_current_shift_is_not_ending_yet(event, site, now):
    early = now - timedelta(minutes=30)  # the first-aid shift then still had 40 minutes to go
    assert live_dashboard(event, now=early, day=to_local(early).date()).handovers == []


def test_no_alert_when_no_shift_takes_over_right_after(event, make_position, make_shift, make_user, assign, now):
    desk = make_position(event, name="咨询台")
    ending = make_shift(desk, starts_at=now - timedelta(hours=2), ends_at=now + timedelta(minutes=5))
    evening = make_shift(desk, starts_at=now + timedelta(hours=4), ends_at=now + timedelta(hours=6))
    assign(ending, make_user())
    assign(evening, make_user())
    board = live_dashboard(event, now=now, day=to_local(now).date())
    assert board.handovers == [] and _lines(board)[evening.id].handover_alert is False


@contextmanager
def count_queries(db):
    statements = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield statements
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", listen)


def test_two_aggregate_queries_whatever_the_number_of_shifts(
    db, event, site, now, make_shift, make_position, make_user, assign
):
    day = to_local(now).date()
    db.session.expire_all()
    assert event.title  # loaded before counting
    with count_queries(db) as few:
        live_dashboard(event, now=now, day=day)
    extra = make_position(event, name="咨询台")
    for hour in range(12):
        shift = make_shift(
            extra,
            starts_at=now - timedelta(hours=3) + timedelta(minutes=20 * hour),
            ends_at=now - timedelta(hours=2) + timedelta(minutes=20 * hour),
        )
        assign(shift, make_user())
    db.session.expire_all()
    assert event.title
    with count_queries(db) as many:
        board = live_dashboard(event, now=now, day=day)
    assert len(many) == len(few) == 2
    assert len(_lines(board)) == 4 + 12


def test_the_dashboard_page_and_its_json(as_user, coordinator, event, site, now, page_text):
    user = as_user(coordinator)
    page = user.get(f"/checkin/events/{event.id}/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'src="/static/js/dashboard.js"' in html
    assert f'data-shift-id="{site["under_way"].id}"' in html
    text = page_text(page)
    assert "Hand-over: 医疗点" in text and "nobody of" in text and "路口引导" in text
    day = to_local(now).date().isoformat()
    assert f'data-url="/checkin/events/{event.id}/dashboard.json?day={day}"' in html

    body = user.get(f"/checkin/events/{event.id}/dashboard.json?day={day}").get_json()
    assert body["day"] == day and body["totals"]["late"] == 1 and body["totals"]["handovers"] == 1
    [crossing] = [p for p in body["positions"] if p["name"] == "路口引导"]
    [line] = [s for s in crossing["shifts"] if s["id"] == site["under_way"].id]
    assert (line["checked_in"], line["expected"], line["on_site"], line["late"]) == (2, 3, 1, 1)
    assert body["handovers"][0]["position_name"] == "医疗点"


def test_the_day_shown_is_a_day_of_the_event(make_event, now):
    long_event = make_event(starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=2))
    today = to_local(now).date()
    assert pick_day(long_event, None, now=now) == today
    assert pick_day(long_event, (today + timedelta(days=1)).isoformat(), now=now) == today + timedelta(days=1)
    assert pick_day(long_event, "2001-01-01", now=now) == today
    assert pick_day(long_event, "not-a-day", now=now) == today
    later = make_event(starts_at=now + timedelta(days=10), ends_at=now + timedelta(days=11))
    assert pick_day(later, None, now=now) == to_local(later.starts_at).date()
