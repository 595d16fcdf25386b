"""The staffing board: counts, coverage classes, filters, access, and a bounded number of queries."""

from __future__ import annotations

import pytest
from sqlalchemy import event as sa_event

from app.timeutil import to_local
from events.signup import services as signup
from events.staffing.services import build_board, coverage_class


@pytest.mark.parametrize(
    "filled, capacity, expected",
    [
        (0, 4, "empty"),
        (1, 4, "low"),
        (2, 4, "ok"),
        (3, 4, "ok"),
        (4, 4, "full"),
        (0, 0, "full"),
        (1, 3, "low"),
    ],
)
def test_coverage_class(filled, capacity, expected):
    assert coverage_class(filled, capacity) == expected


@pytest.fixture
def staffed(make_event, make_position, make_shift, make_user, place, local_time):
    """An event with shifts 0/4, 1/4, 2/4 and 2/2 filled on day 1 (position 引导) and an empty one on day 2 (咨询台)."""
    event = make_event(title="漫博会")
    guide = make_position(event, name="引导")
    desk = make_position(event, name="咨询台")
    shifts = {
        "empty": make_shift(guide, starts_at=local_time(1, 9), capacity=4),
        "low": make_shift(guide, starts_at=local_time(1, 13), capacity=4),
        "ok": make_shift(desk, starts_at=local_time(1, 9), capacity=4),
        "full": make_shift(desk, starts_at=local_time(1, 13), capacity=2),
        "day2": make_shift(desk, starts_at=local_time(2, 9), capacity=3),
    }
    for key, count in (("low", 1), ("ok", 2), ("full", 2)):
        for _ in range(count):
            place(shifts[key], make_user())
    return event, guide, desk, shifts


def test_board_counts_and_coverage_classes(staffed, coordinator, as_user, board_cell):
    event, _guide, _desk, shifts = staffed
    response = as_user(coordinator).get(f"/events/{event.id}/staffing")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert board_cell(html, shifts["empty"].id) == ("empty", "0/4")
    assert board_cell(html, shifts["low"].id) == ("low", "1/4")
    assert board_cell(html, shifts["ok"].id) == ("ok", "2/4")
    assert board_cell(html, shifts["full"].id) == ("full", "2/2")
    assert board_cell(html, shifts["day2"].id) == ("empty", "0/3")
    assert "Filled 5 of 17 places" in html
    day1 = to_local(shifts["empty"].starts_at).date().isoformat()
    assert f'id="day-{day1}"' in html


def test_board_shows_waitlist_and_counts_in_service(staffed, make_user, now, db):
    event, _guide, _desk, shifts = staffed
    signup.sign_up(shifts["full"], make_user(), now=now, join_waitlist=True)
    db.session.commit()
    board = build_board(event)
    cells = {c.shift_id: c for day in board.days for row in day.rows for slot in row.cells for c in slot}
    assert (cells[shifts["full"].id].filled, cells[shifts["full"].id].waitlisted) == (2, 1)
    assert board.coverage_counts == {"empty": 2, "low": 1, "ok": 1, "full": 1}
    assert [row.name for row in board.days[0].rows] == ["引导", "咨询台"]
    assert len(board.days[0].slots) == 2


def test_board_filters(staffed, coordinator, as_user, board_cell):
    event, guide, _desk, shifts = staffed
    client = as_user(coordinator)
    day2 = to_local(shifts["day2"].starts_at).date().isoformat()
    html = client.get(f"/events/{event.id}/staffing?day={day2}").get_data(as_text=True)
    assert board_cell(html, shifts["day2"].id) and not board_cell(html, shifts["empty"].id)

    html = client.get(f"/events/{event.id}/staffing?position={guide.id}").get_data(as_text=True)
    assert board_cell(html, shifts["empty"].id) and board_cell(html, shifts["low"].id)
    assert not board_cell(html, shifts["ok"].id) and not board_cell(html, shifts["day2"].id)

    html = client.get(f"/events/{event.id}/staffing?understaffed=y").get_data(as_text=True)
    assert not board_cell(html, shifts["full"].id)
    assert all(board_cell(html, shifts[k].id) for k in ("empty", "low", "ok", "day2"))


def test_board_refuses_a_bad_filter_with_422(staffed, coordinator, as_user):
    event = staffed[0]
    response = as_user(coordinator).get(f"/events/{event.id}/staffing?day=2001-01-01&position=abc")
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_volunteer_and_other_organization_cannot_open_the_board(staffed, volunteer, outsider, as_user, client):
    event, _guide, _desk, shifts = staffed
    for user in (volunteer, outsider):
        c = as_user(user)
        assert c.get(f"/events/{event.id}/staffing").status_code == 403
        assert c.get(f"/events/staffing/shifts/{shifts['low'].id}").status_code == 403
    anonymous = client.get(f"/events/{event.id}/staffing")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.get("/events/999999/staffing").status_code in (302, 404)


def test_an_ancestor_coordinator_opens_the_board(staffed, make_user, orgs, as_user):
    city_coordinator = make_user(organization=orgs["city"], role="coordinator", role_org=orgs["city"])
    assert as_user(city_coordinator).get(f"/events/{staffed[0].id}/staffing").status_code == 200


def test_board_runs_a_fixed_number_of_queries(
    db, make_event, make_position, make_shift, local_time, coordinator, as_user
):
    """No N+1: the board of 3 shifts and of 36 shifts issue the same number of statements."""
    client = as_user(coordinator)

    def statements_for(event_id: int) -> int:
        seen = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        db.session.expunge_all()  # each request starts from an empty identity map, as in production
        engine = db.engine
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/events/{event_id}/staffing").status_code == 200
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    small = make_event()
    make_shift(make_position(small), capacity=3)
    make_shift(make_position(small), capacity=3)
    make_shift(make_position(small), starts_at=local_time(2, 9), capacity=3)
    large = make_event()
    for _p in range(6):
        position = make_position(large)
        for d in range(1, 4):
            make_shift(position, starts_at=local_time(d, 9), capacity=5)
            make_shift(position, starts_at=local_time(d, 14), capacity=5)
    small_id, large_id = small.id, large.id
    assert statements_for(small_id) == statements_for(large_id) <= 8
