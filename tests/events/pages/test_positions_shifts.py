"""Positions and shifts inside an event: create, edit, delete, cancel, headcount changes."""

from __future__ import annotations

from sqlalchemy import func, select

from events.models import Assignment, Position, Shift
from events.signup import services as signup
from notifications.models import Notification
from tests.support import local_input


def test_coordinator_adds_and_edits_a_position(db, coordinator_client, make_event, make_skill, make_credential_type):
    event = make_event(status="draft")
    english = make_skill("英语", "language", "English")
    first_aid = make_credential_type("急救培训合格")
    response = coordinator_client.post(
        f"/events/{event.id}/positions/new",
        data={
            "name": "翻译",
            "description": "外宾接待",
            "min_age": "18",
            "skills": [str(english.id)],
            "credentials": [str(first_aid.id)],
        },
    )
    assert response.status_code == 302
    position = db.session.scalar(select(Position).where(Position.event_id == event.id))
    assert (position.name, position.min_age) == ("翻译", 18)
    assert [s.id for s in position.required_skills] == [english.id]
    assert [c.id for c in position.required_credentials] == [first_aid.id]
    form = coordinator_client.get(f"/events/positions/{position.id}/edit").get_data(as_text=True)
    assert "外宾接待" in form and "checked" in form
    response = coordinator_client.post(
        f"/events/positions/{position.id}/edit", data={"name": "英语翻译", "description": "", "min_age": "16"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (position.name, position.min_age, position.required_skills) == ("英语翻译", 16, [])


def test_duplicate_position_name_is_refused_beside_the_field(db, coordinator_client, make_event, make_position):
    event = make_event(status="draft")
    make_position(event, name="引导")
    response = coordinator_client.post(f"/events/{event.id}/positions/new", data={"name": "引导", "min_age": "0"})
    assert response.status_code == 422
    assert "This event already has a position with that name." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Position.id))) == 1


def test_coordinator_adds_a_shift_in_local_time(db, coordinator_client, make_event, make_position, local_time):
    event = make_event(status="draft")
    position = make_position(event)
    response = coordinator_client.post(
        f"/events/positions/{position.id}/shifts/new",
        data={
            "starts_at": local_input(local_time(1, 9)),
            "ends_at": local_input(local_time(1, 12)),
            "capacity": "8",
            "meeting_point": "南门",
        },
    )
    assert response.status_code == 302
    shift = db.session.scalar(select(Shift))
    assert (shift.starts_at, shift.ends_at, shift.capacity, shift.meeting_point) == (
        local_time(1, 9),
        local_time(1, 12),
        8,
        "南门",
    )
    assert shift.event_id == event.id


def test_shift_outside_the_event_or_backwards_is_refused(db, coordinator_client, make_event, make_position, local_time):
    position = make_position(make_event())
    outside = coordinator_client.post(
        f"/events/positions/{position.id}/shifts/new",
        data={"starts_at": local_input(local_time(1, 6)), "ends_at": local_input(local_time(1, 9)), "capacity": "3"},
    )
    assert outside.status_code == 422
    assert "Shifts must lie within the event" in outside.get_data(as_text=True)
    backwards = coordinator_client.post(
        f"/events/positions/{position.id}/shifts/new",
        data={"starts_at": local_input(local_time(1, 12)), "ends_at": local_input(local_time(1, 9)), "capacity": "3"},
    )
    assert "The shift must end after it starts." in backwards.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Shift.id))) == 0


def _shift_form(shift, **overrides) -> dict:
    data = {
        "starts_at": local_input(shift.starts_at),
        "ends_at": local_input(shift.ends_at),
        "capacity": str(shift.capacity),
        "meeting_point": shift.meeting_point,
    }
    data.update(overrides)
    return data


def test_lowering_headcount_below_the_assigned_count_is_refused(db, coordinator_client, make_shift, make_user, now):
    shift = make_shift(capacity=3)
    for _ in range(2):
        signup.sign_up(shift, make_user(), now=now)
    db.session.commit()
    response = coordinator_client.post(f"/events/shifts/{shift.id}/edit", data=_shift_form(shift, capacity="1"))
    assert response.status_code == 422
    assert "The headcount cannot be lower than 2: that many places on this shift are taken." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert shift.capacity == 3
    assert (
        coordinator_client.post(f"/events/shifts/{shift.id}/edit", data=_shift_form(shift, capacity="2")).status_code
        == 302
    )
    db.session.expire_all()
    assert shift.capacity == 2


def test_raising_headcount_promotes_the_waitlist_in_order(db, coordinator_client, make_shift, make_user, now):
    shift = make_shift(capacity=1)
    signup.sign_up(shift, make_user(), now=now)
    first, second, third = make_user(), make_user(), make_user()
    for volunteer in (first, second, third):
        signup.sign_up(shift, volunteer, now=now, join_waitlist=True)
        db.session.commit()
    response = coordinator_client.post(f"/events/shifts/{shift.id}/edit", data=_shift_form(shift, capacity="3"))
    assert response.status_code == 302
    statuses = dict(db.session.execute(select(Assignment.user_id, Assignment.status)).tuples().all())
    assert (statuses[first.id], statuses[second.id], statuses[third.id]) == ("assigned", "assigned", "waitlisted")
    db.session.expire_all()
    assert shift.assigned_count == 3


def test_moving_a_shift_with_volunteers_is_refused(db, coordinator_client, make_shift, make_user, now, local_time):
    shift = make_shift()
    signup.sign_up(shift, make_user(), now=now)
    db.session.commit()
    response = coordinator_client.post(
        f"/events/shifts/{shift.id}/edit",
        data=_shift_form(shift, starts_at=local_input(local_time(1, 10)), ends_at=local_input(local_time(1, 13))),
    )
    assert response.status_code == 422
    assert "cancel it and create a new one" in response.get_data(as_text=True)


def test_new_meeting_point_is_told(db, coordinator_client, make_shift, make_user, now):
    shift = make_shift()
    volunteer = make_user()
    signup.sign_up(shift, volunteer, now=now)
    db.session.commit()
    coordinator_client.post(f"/events/shifts/{shift.id}/edit", data=_shift_form(shift, meeting_point="北门"))
    assert (
        db.session.scalar(
            select(Notification.params).where(
                Notification.user_id == volunteer.id, Notification.kind == "shift_changed"
            )
        )["meeting_point"]
        == "北门"
    )


def test_a_shift_with_volunteers_cannot_be_deleted_only_cancelled(db, coordinator_client, make_shift, make_user, now):
    shift = make_shift(capacity=1)
    assigned, waiting = make_user(), make_user()
    signup.sign_up(shift, assigned, now=now)
    signup.sign_up(shift, waiting, now=now, join_waitlist=True)
    db.session.commit()
    response = coordinator_client.post(f"/events/shifts/{shift.id}/delete", follow_redirects=True)
    assert "cannot be deleted; cancel it instead" in response.get_data(as_text=True)
    assert db.session.get(Shift, shift.id) is not None
    response = coordinator_client.post(
        f"/events/shifts/{shift.id}/cancel", data={"reason": "场地调整"}, follow_redirects=True
    )
    assert "Shift cancelled; its volunteers have been told." in response.get_data(as_text=True)
    db.session.expire_all()
    assert shift.is_cancelled and shift.assigned_count == 0
    assert set(db.session.scalars(select(Assignment.status))) == {"cancelled"}
    told = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "shift_cancelled")))
    assert told == {assigned.id, waiting.id}
    # a cancelled shift takes no sign-ups
    assert signup.check_rules(shift, make_user(), now=now)[0].code == "shift_cancelled"


def test_an_empty_shift_and_position_can_be_deleted(db, coordinator_client, make_shift):
    shift = make_shift()
    position_id = shift.position_id
    assert coordinator_client.post(f"/events/shifts/{shift.id}/delete").status_code == 302
    assert db.session.get(Shift, shift.id) is None
    assert coordinator_client.post(f"/events/positions/{position_id}/delete").status_code == 302
    assert db.session.get(Position, position_id) is None


def test_a_position_with_volunteers_cannot_be_deleted(db, coordinator_client, make_shift, make_user, now):
    shift = make_shift()
    signup.sign_up(shift, make_user(), now=now)
    db.session.commit()
    response = coordinator_client.post(f"/events/positions/{shift.position_id}/delete", follow_redirects=True)
    assert "Volunteers are on shifts of this position" in response.get_data(as_text=True)
    assert db.session.get(Position, shift.position_id) is not None


def test_other_coordinators_cannot_touch_positions_or_shifts(db, make_user, make_client, login, orgs, make_shift):
    from app.permissions import Role

    shift = make_shift()
    other = login(make_user(role=Role.COORDINATOR, role_org=orgs["dgut"]), target=make_client())
    assert other.get(f"/events/positions/{shift.position_id}/edit").status_code == 403
    assert other.post(f"/events/{shift.event_id}/positions/new", data={"name": "x"}).status_code == 403
    assert other.post(f"/events/shifts/{shift.id}/edit", data=_shift_form(shift, capacity="1")).status_code == 403
    assert other.post(f"/events/shifts/{shift.id}/delete").status_code == 403
    assert other.post(f"/events/shifts/{shift.id}/cancel").status_code == 403
    assert other.post(f"/events/positions/{shift.position_id}/delete").status_code == 403
    assert db.session.get(Shift, shift.id) is not None
