"""Assigning from the shift panel: single and bulk, refusals with every reason, overrides with a
reason, move, unassign and no-show, and who may do it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from events.models import Assignment


@pytest.fixture
def shift(make_shift):
    return make_shift(capacity=3)


def assign(client, shift, ids, **form):
    return client.post(f"/events/staffing/shifts/{shift.id}/assign", data={"volunteer_ids": ids, **form})


def test_coordinator_finds_and_assigns_a_volunteer(db, shift, coordinator, volunteer, as_user, live, board_cell):
    client = as_user(coordinator)
    page = client.get(f"/events/staffing/shifts/{shift.id}?q=陈小明")
    assert page.status_code == 200 and f'id="volunteer-{volunteer.id}"' in page.get_data(as_text=True)
    response = assign(client, shift, [volunteer.id])
    assert response.status_code == 302
    assert live(shift) == {volunteer.id: "assigned"}
    assignment = db.session.scalar(select(Assignment).where(Assignment.shift_id == shift.id))
    assert (assignment.source, assignment.created_by_id, assignment.override_rule) == (
        "coordinator",
        coordinator.id,
        "",
    )
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'id="assignment-{assignment.id}"' in html and "1 volunteers assigned." in html
    board = client.get(f"/events/{shift.event_id}/staffing").get_data(as_text=True)
    assert board_cell(board, shift.id) == ("low", "1/3")


def test_bulk_assign_shows_each_reason_for_each_refusal(
    db, make_position, make_shift, make_skill, make_user, coordinator, as_user, live
):
    first_aid = make_skill("急救")
    position = make_position(skills=[first_aid], min_age=18)
    shift = make_shift(position, capacity=5)
    able = make_user(name="甲", skills=[first_aid])
    unskilled = make_user(name="乙")
    young = make_user(name="丙", birth=date.today() - timedelta(days=365 * 15))
    response = assign(as_user(coordinator), shift, [able.id, unskilled.id, young.id])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "1 volunteers assigned." in html and "Not assigned" in html
    assert html.count("This position requires skills not on the profile: 急救.") == 2
    assert "The minimum age for this position is 18." in html
    assert f'data-volunteer="{unskilled.id}"' in html and f'data-volunteer="{young.id}"' in html
    assert live(shift) == {able.id: "assigned"}


def test_all_refused_answers_409(make_position, make_shift, make_skill, make_user, coordinator, as_user, live):
    shift = make_shift(make_position(skills=[make_skill("手语", "language")]))
    unskilled = make_user()
    response = assign(as_user(coordinator), shift, [unskilled.id])
    assert response.status_code == 409
    assert "This position requires skills not on the profile: 手语." in response.get_data(as_text=True)
    assert live(shift) == {}


def test_override_needs_a_reason_and_is_recorded(
    db, make_position, make_shift, make_skill, make_user, coordinator, as_user, live
):
    shift = make_shift(make_position(skills=[make_skill("急救")]))
    unskilled = make_user()
    client = as_user(coordinator)
    response = assign(client, shift, [unskilled.id], override_rules=["missing_skill"], override_reason="  ")
    assert response.status_code == 422
    assert "Give a reason for overriding the sign-up rules." in response.get_data(as_text=True)
    assert live(shift) == {}
    response = assign(
        client,
        shift,
        [unskilled.id],
        override_rules=["missing_skill"],
        override_reason="持有红十字会急救证，系统未录入",
    )
    assert response.status_code == 302
    assignment = db.session.scalar(select(Assignment).where(Assignment.shift_id == shift.id))
    assert assignment.override_rule == "missing_skill"
    assert assignment.override_reason == "持有红十字会急救证，系统未录入"
    assert "持有红十字会急救证" in client.get(f"/events/staffing/shifts/{shift.id}").get_data(as_text=True)


def test_capacity_is_never_overridable(shift, make_user, coordinator, as_user, live):
    response = assign(
        as_user(coordinator), shift, [make_user().id], override_rules=["shift_full"], override_reason="VIP"
    )
    assert response.status_code == 422
    assert live(shift) == {}


def test_bulk_assign_stops_at_capacity(make_shift, make_user, coordinator, as_user, live):
    shift = make_shift(capacity=2)
    people = [make_user() for _ in range(3)]
    response = assign(as_user(coordinator), shift, [p.id for p in people])
    assert response.status_code == 200
    assert "This shift is full." in response.get_data(as_text=True)
    assert sorted(live(shift)) == sorted(p.id for p in people[:2])


def test_nothing_selected_or_out_of_scope_is_refused_with_422(shift, make_user, orgs, coordinator, as_user, live):
    client = as_user(coordinator)
    response = assign(client, shift, [])
    assert response.status_code == 422 and "Select at least one volunteer." in response.get_data(as_text=True)
    stranger = make_user(organization=orgs["dongcheng_team"])
    response = assign(client, shift, [stranger.id])
    assert response.status_code == 422
    assert "Some selected volunteers were not found." in response.get_data(as_text=True)
    assert assign(client, shift, ["x"]).status_code == 422
    assert live(shift) == {}


def test_volunteer_and_other_coordinator_cannot_assign(shift, volunteer, outsider, make_user, orgs, as_user, live):
    their_own = make_user(organization=orgs["dongcheng_team"])
    for user, target in ((volunteer, volunteer), (outsider, their_own)):
        assert assign(as_user(user), shift, [target.id]).status_code == 403
    assert live(shift) == {}


def test_move_updates_both_shifts(
    db, make_position, make_shift, local_time, volunteer, coordinator, as_user, place, board_cell
):
    position = make_position()
    morning = make_shift(position, starts_at=local_time(1, 9), capacity=2)
    afternoon = make_shift(position, starts_at=local_time(1, 14), capacity=2)
    assignment = place(morning, volunteer)
    client = as_user(coordinator)
    page = client.get(f"/events/staffing/assignments/{assignment.id}/move")
    assert page.status_code == 200 and f'value="{afternoon.id}"' in page.get_data(as_text=True)
    response = client.post(f"/events/staffing/assignments/{assignment.id}/move", data={"to_shift_id": afternoon.id})
    assert response.status_code == 302
    board = client.get(f"/events/{position.event_id}/staffing").get_data(as_text=True)
    assert board_cell(board, morning.id) == ("empty", "0/2")
    assert board_cell(board, afternoon.id) == ("ok", "1/2")
    db.session.refresh(assignment)
    assert assignment.status == "cancelled"


def test_move_refusal_shows_reasons_and_override_works(
    db, make_event, make_position, make_shift, local_time, volunteer, coordinator, as_user, place, live
):
    event = make_event()
    guide, desk = make_position(event), make_position(event)
    current = make_shift(guide, starts_at=local_time(1, 9))
    busy = make_shift(desk, starts_at=local_time(1, 14))
    target = make_shift(guide, starts_at=local_time(1, 15))
    assignment = place(current, volunteer)
    place(busy, volunteer)
    client = as_user(coordinator)
    url = f"/events/staffing/assignments/{assignment.id}/move"
    response = client.post(url, data={"to_shift_id": target.id})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Not moved" in html and "Overlaps another shift already taken" in html and 'data-code="overlap"' in html
    response = client.post(url, data={"to_shift_id": target.id, "override_rules": "overlap"})
    assert response.status_code == 422 and "Give a reason for overriding the sign-up rules." in response.get_data(
        as_text=True
    )
    response = client.post(
        url, data={"to_shift_id": target.id, "override_rules": "overlap", "override_reason": "两个岗位相邻，可兼顾"}
    )
    assert response.status_code == 302
    assert live(target) == {volunteer.id: "assigned"} and live(current) == {}
    assert client.post(url, data={"to_shift_id": 999999}).status_code == 422


def test_other_coordinator_cannot_move(shift, volunteer, outsider, make_shift, as_user, place):
    assignment = place(shift, volunteer)
    other = make_shift(shift.position, starts_at=shift.ends_at)
    client = as_user(outsider)
    assert client.get(f"/events/staffing/assignments/{assignment.id}/move").status_code == 403
    assert (
        client.post(f"/events/staffing/assignments/{assignment.id}/move", data={"to_shift_id": other.id}).status_code
        == 403
    )


def test_unassign_needs_a_reason_and_frees_the_place(
    db, shift, volunteer, make_user, coordinator, outsider, as_user, place, live, board_cell
):
    assignment = place(shift, volunteer)
    place(shift, make_user())
    client = as_user(coordinator)
    url = f"/events/staffing/assignments/{assignment.id}/unassign"
    response = client.post(url, data={"reason": ""})
    assert response.status_code == 422 and "Give a reason." in response.get_data(as_text=True)
    assert as_user(outsider).post(url, data={"reason": "x"}).status_code == 403
    assert as_user(volunteer).post(url, data={"reason": "x"}).status_code == 403
    assert volunteer.id in live(shift)
    assert client.post(url, data={"reason": "临时有事"}).status_code == 302
    assert volunteer.id not in live(shift)
    board = client.get(f"/events/{shift.event_id}/staffing").get_data(as_text=True)
    assert board_cell(board, shift.id) == ("low", "1/3")
    again = client.post(url, data={"reason": "临时有事"})
    assert again.status_code == 409 and "no longer active" in again.get_data(as_text=True)


def test_shift_page_lists_assigned_and_waitlisted(db, make_shift, make_user, coordinator, as_user, place, now):
    from events.signup import services as signup

    shift = make_shift(capacity=1)
    first = place(shift, make_user(name="已排班的人"))
    waiting = signup.sign_up(shift, make_user(name="候补的人"), now=now, join_waitlist=True)
    db.session.commit()
    html = as_user(coordinator).get(f"/events/staffing/shifts/{shift.id}").get_data(as_text=True)
    assert "已排班的人" in html and "候补的人" in html
    assert (
        html.index(f'id="assignment-{first.id}"')
        < html.index('id="waitlisted"')
        < html.index(f'id="assignment-{waiting.id}"')
    )


def test_mark_no_show(db, make_shift, volunteer, coordinator, outsider, as_user, place, now):
    started = make_shift(starts_at=now - timedelta(hours=1))
    assignment = place(started, volunteer, override_rules={"shift_started"}, override_reason="现场补录")
    url = f"/events/staffing/assignments/{assignment.id}/no-show"
    assert as_user(outsider).post(url).status_code == 403
    assert as_user(volunteer).post(url).status_code == 403
    client = as_user(coordinator)
    assert f'action="{url}"' in client.get(f"/events/staffing/shifts/{started.id}").get_data(as_text=True)
    assert client.post(url).status_code == 302
    db.session.refresh(assignment)
    assert assignment.status == "no_show"
    html = client.get(f"/events/staffing/shifts/{started.id}").get_data(as_text=True)
    assert 'id="history"' in html and "No-show" in html
    assert client.post(url).status_code == 409


def test_no_show_before_the_shift_starts_is_refused(db, shift, volunteer, coordinator, as_user, place):
    assignment = place(shift, volunteer)
    url = f"/events/staffing/assignments/{assignment.id}/no-show"
    assert url not in as_user(coordinator).get(f"/events/staffing/shifts/{shift.id}").get_data(as_text=True)
    response = as_user(coordinator).post(url)
    assert response.status_code == 409
    assert "only once the shift has started" in response.get_data(as_text=True)
    db.session.refresh(assignment)
    assert assignment.status == "assigned"
