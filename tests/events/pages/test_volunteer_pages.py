"""Volunteers sign up through the event page, see refusal reasons, join waitlists, cancel, and list their shifts."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from events.models import Assignment, AssignmentStatus
from events.signup import services as signup
from tests import factories


def row(page: str, shift_id: int) -> str:
    """The HTML of a shift's row and what follows it up to the next shift row (the refusal, if any)."""
    start = page.index(f'id="shift-{shift_id}"')
    end = page.find('id="shift-', start + 1)
    return page[start : end if end != -1 else page.index("</table>", start)]


def test_volunteer_signs_up_through_the_event_page(db, volunteer, volunteer_client, make_shift):
    shift = make_shift(capacity=2, meeting_point="鸿福路地铁站B口")
    page = volunteer_client.get(f"/events/{shift.event_id}").get_data(as_text=True)
    assert "Sign up" in row(page, shift.id) and "2 / 2" in row(page, shift.id)
    # the page's form posts to one URL; the pressed button names the shift
    form_action = re.search(r'<form method="post" class="shift-form" action="([^"]+)">', page).group(1)
    assert f'name="shift_id" value="{shift.id}"' in row(page, shift.id)
    response = volunteer_client.post(form_action, data={"shift_id": str(shift.id)}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "You are signed up. Thank you!" in text
    assert "Assigned" in row(text, shift.id) and "1 / 2" in row(text, shift.id)
    assignment = db.session.scalar(select(Assignment))
    assert (assignment.user_id, assignment.status) == (volunteer.id, AssignmentStatus.ASSIGNED.value)


def test_refusal_reason_is_shown_beside_the_shift(
    db, make_user, make_client, login, make_position, make_shift, make_skill
):
    first_aid = make_skill("急救")
    shift = make_shift(make_position(skills=[first_aid], min_age=18))
    teenager = make_user(birth=date.today() - timedelta(days=16 * 366))
    client = login(teenager, target=make_client())
    response = client.post(f"/events/shifts/{shift.id}/sign-up", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    beside = row(text, shift.id)
    assert 'class="refusal"' in beside
    assert "This position requires skills not on the profile: 急救." in beside
    assert db.session.scalar(select(Assignment)) is None
    # the reason is shown once: reloading the page does not repeat it
    assert 'class="refusal"' not in client.get(f"/events/{shift.event_id}").get_data(as_text=True)


def test_sign_up_not_open_is_refused(db, volunteer_client, make_event, make_position, make_shift, now):
    event = make_event(signup_opens_at=now + timedelta(hours=5))
    shift = make_shift(make_position(event))
    text = volunteer_client.post(f"/events/shifts/{shift.id}/sign-up", follow_redirects=True).get_data(as_text=True)
    assert "Sign-up for this event is not open at this time." in row(text, shift.id)


def test_full_shift_offers_the_waitlist_and_the_volunteer_joins(db, make_user, make_client, login, make_shift, now):
    shift = make_shift(capacity=1)
    signup.sign_up(shift, make_user(), now=now)
    db.session.commit()
    late = make_user()
    client = login(late, target=make_client())
    # a plain sign-up on a full shift is refused with the waitlist offered beside it
    text = client.post(f"/events/shifts/{shift.id}/sign-up", follow_redirects=True).get_data(as_text=True)
    beside = row(text, shift.id)
    assert "This shift is full." in beside and "Join the waitlist" in beside
    assert f'name="waitlist_shift_id" value="{shift.id}"' in beside
    response = client.post("/events/shifts/sign-up", data={"waitlist_shift_id": str(shift.id)}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "You are on the waitlist" in text
    assert "Waitlisted" in row(text, shift.id) and "waiting: 1" in row(text, shift.id)
    mine = client.get("/events/my-shifts").get_data(as_text=True)
    assert "Waitlisted" in mine and "No. 1 in line" in mine


def test_volunteer_cancels_before_the_cut_off(db, volunteer, volunteer_client, make_shift, local_time, now):
    shift = make_shift(starts_at=local_time(3, 9))
    assignment = signup.sign_up(shift, volunteer, now=now)
    db.session.commit()
    page = volunteer_client.get(f"/events/{shift.event_id}").get_data(as_text=True)
    assert "Cancel my place" in row(page, shift.id)
    response = volunteer_client.post(f"/events/assignments/{assignment.id}/cancel", follow_redirects=True)
    assert "Your place is cancelled." in response.get_data(as_text=True)
    db.session.expire_all()
    assert assignment.status == "cancelled" and shift.assigned_count == 0


def test_cancelling_after_the_cut_off_is_refused(
    db, volunteer, volunteer_client, make_event, make_position, make_shift, local_time, now
):
    event = make_event(cancel_cutoff_hours=72)
    shift = make_shift(make_position(event), starts_at=local_time(1, 9))
    assignment = signup.sign_up(shift, volunteer, now=now)
    db.session.commit()
    page = volunteer_client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "Cancellation closed" in row(page, shift.id)
    response = volunteer_client.post(f"/events/assignments/{assignment.id}/cancel", follow_redirects=True)
    assert "Too late to cancel" in response.get_data(as_text=True)
    db.session.expire_all()
    assert assignment.status == "assigned"


def test_a_volunteer_cannot_cancel_someone_elses_place(db, make_user, volunteer_client, make_shift, now):
    shift = make_shift()
    other = signup.sign_up(shift, make_user(), now=now)
    db.session.commit()
    assert volunteer_client.post(f"/events/assignments/{other.id}/cancel").status_code == 403
    db.session.expire_all()
    assert other.status == "assigned"


def test_sign_up_without_a_shift_is_a_bad_request(volunteer_client):
    assert volunteer_client.post("/events/shifts/sign-up", data={}).status_code == 400
    assert volunteer_client.post("/events/shifts/sign-up", data={"shift_id": "999"}).status_code == 404


def test_anonymous_visitors_are_asked_to_log_in(client, make_shift):
    shift = make_shift()
    page = client.get(f"/events/{shift.event_id}").get_data(as_text=True)
    assert "Log in to sign up" in row(page, shift.id)
    response = client.post(f"/events/shifts/{shift.id}/sign-up")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_my_shifts_lists_upcoming_and_past_with_status(
    db, volunteer, volunteer_client, make_user, make_event, make_position, make_shift, local_time, now
):
    upcoming = make_shift(make_position(make_event(title="下周的活动")), starts_at=local_time(1, 9))
    past_event = make_event(title="上周的活动", starts_at=local_time(-7, 8), signup_opens_at=now - timedelta(days=30))
    past = make_shift(make_position(past_event), starts_at=local_time(-7, 9))
    missed = make_shift(make_position(past_event), starts_at=local_time(-7, 13))
    factories.assignment(
        past,
        volunteer,
        status="cancelled",
        source="self",
        created_at=now - timedelta(days=9),
        cancelled_at=now - timedelta(days=8),
    )
    factories.assignment(missed, volunteer, status="no_show", source="self", created_at=now - timedelta(days=9))
    signup.sign_up(upcoming, volunteer, now=now)
    someone_else = make_shift(make_position(make_event(title="别人的活动")))
    signup.sign_up(someone_else, make_user(), now=now)
    db.session.commit()
    text = volunteer_client.get("/events/my-shifts").get_data(as_text=True)
    assert "下周的活动" in text and "上周的活动" in text and "别人的活动" not in text
    upcoming_part, past_part = text.split("<h2>Past</h2>")
    assert "下周的活动" in upcoming_part and "Assigned" in upcoming_part
    assert "Cancelled" in past_part and "No-show" in past_part and "下周的活动" not in past_part


def test_waitlist_place_in_line_follows_the_queue(db, make_user, make_client, login, make_shift, now):
    shift = make_shift(capacity=1)
    signup.sign_up(shift, make_user(), now=now)
    volunteers = [make_user() for _ in range(3)]
    for offset, person in enumerate(volunteers):
        signup.sign_up(shift, person, now=now + timedelta(seconds=offset), join_waitlist=True)
        db.session.commit()
    third = login(volunteers[2], target=make_client())
    assert "No. 3 in line" in third.get("/events/my-shifts").get_data(as_text=True)
    first = db.session.scalar(select(Assignment).where(Assignment.user_id == volunteers[0].id))
    signup.cancel_assignment(first, by=volunteers[0], now=now)
    db.session.commit()
    assert "No. 2 in line" in third.get("/events/my-shifts").get_data(as_text=True)


def test_cancelled_event_tells_its_volunteer_and_shows_on_the_page(
    db, volunteer, volunteer_client, coordinator_client, make_shift, now
):
    shift = make_shift()
    signup.sign_up(shift, volunteer, now=now)
    db.session.commit()
    coordinator_client.post(f"/events/{shift.event_id}/cancel", data={"reason": "暴雨"})
    page = volunteer_client.get(f"/events/{shift.event_id}").get_data(as_text=True)
    assert "This event has been cancelled." in page and "Sign up" not in row(page, shift.id)
    mine = volunteer_client.get("/events/my-shifts").get_data(as_text=True)
    assert "Cancelled" in mine and "The shift was cancelled" in mine
