"""Coordinators create, edit, publish and cancel events through the pages; others are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit import AuditLog
from app.permissions import Role
from events.models import Assignment, Event, EventStatus
from notifications.models import Notification
from tests.support import local_input


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def field_block(page: str, field: str) -> tuple[str, str]:
    """(the opening tag of a field's wrapper, its content up to the next field)."""
    start = page.index(f'id="field-{field}"')
    opening = page[page.rindex("<div", 0, start) : page.index(">", start)]
    end = page.find('id="field-', start + 1)
    return opening, page[start : end if end != -1 else len(page)]


def test_coordinator_creates_a_draft_event(db, coordinator_client, event_form, orgs, local_time):
    response = coordinator_client.post(
        "/events/new",
        data=event_form(
            latitude="23.0207", longitude="113.7518", checkin_radius_m="200", geofence_mode="refuse", allow_walk_ins="y"
        ),
    )
    assert response.status_code == 302
    event = db.session.scalar(select(Event))
    assert response.headers["Location"].endswith(f"/events/{event.id}/manage")
    assert event.status == EventStatus.DRAFT.value
    assert event.title == "南城社区关爱长者"
    assert event.organization_id == orgs["nancheng"].id
    assert event.starts_at == local_time(3, 8) and event.ends_at == local_time(3, 18)
    assert event.signup_closes_at == local_time(2, 20)
    assert (event.latitude, event.longitude, event.checkin_radius_m) == (23.0207, 113.7518, 200)
    assert event.geofence_mode == "refuse" and event.allow_walk_ins is True
    assert event.brand_tag == "青春情暖"
    audited = select(AuditLog.action).where(AuditLog.target_type == "Event", AuditLog.target_id == event.id)
    assert db.session.scalar(audited) == "event.create"
    page = coordinator_client.get(f"/events/{event.id}/manage").get_data(as_text=True)
    assert "南城社区关爱长者" in page and "Draft" in page


def test_training_course_grants_a_credential(db, coordinator_client, event_form, make_credential_type):
    first_aid = make_credential_type("急救培训合格", valid_days=730)
    response = coordinator_client.post(
        "/events/new", data=event_form(kind="training", grants_credential_type_id=str(first_aid.id))
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Event)).grants_credential_type_id == first_aid.id
    refused = coordinator_client.post(
        "/events/new", data=event_form(kind="community", grants_credential_type_id=str(first_aid.id))
    )
    assert refused.status_code == 422
    assert "Only training courses grant a credential." in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"ends_at": "STARTS"}, "ends_at", "The event must end after it starts."),
        ({"signup_closes_at": "AFTER_END"}, "signup_closes_at", "Sign-up must close before the event ends."),
        ({"latitude": "95", "longitude": "113.7"}, "latitude", "Latitude must be between -90 and 90."),
        ({"latitude": "23.0", "longitude": "190"}, "longitude", "Longitude must be between -180 and 180."),
        ({"latitude": "23.0"}, "longitude", "Enter both latitude and longitude, or neither."),
        ({"checkin_radius_m": "200"}, "checkin_radius_m", "A check-in radius needs the event&#39;s coordinates."),
        ({"title": ""}, "title", "This field is required."),
    ],
)
def test_invalid_event_rerenders_with_the_message_beside_the_field(
    db, coordinator_client, event_form, local_time, overrides, field, message
):
    if overrides.get("ends_at") == "STARTS":
        overrides["ends_at"] = local_input(local_time(3, 8))
    if overrides.get("signup_closes_at") == "AFTER_END":
        overrides["signup_closes_at"] = local_input(local_time(3, 19))
    response = coordinator_client.post("/events/new", data=event_form(**overrides))
    assert response.status_code == 422
    opening, block = field_block(response.get_data(as_text=True), field)
    assert "has-error" in opening
    assert message in block
    assert count(db, Event) == 0


def test_several_problems_are_shown_at_once(db, coordinator_client, event_form, local_time):
    response = coordinator_client.post(
        "/events/new",
        data=event_form(ends_at=local_input(local_time(3, 7)), latitude="100", longitude="113", checkin_radius_m="0"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The event must end after it starts." in page
    assert "Latitude must be between -90 and 90." in page
    assert count(db, Event) == 0


def test_volunteer_cannot_create_events(volunteer_client, event_form, db):
    assert volunteer_client.get("/events/new").status_code == 403
    assert volunteer_client.post("/events/new", data=event_form()).status_code == 403
    assert volunteer_client.get("/events/manage").status_code == 403
    assert count(db, Event) == 0


def test_anonymous_is_sent_to_login(client):
    response = client.get("/events/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_coordinator_cannot_create_for_an_organization_outside_the_subtree(db, coordinator_client, event_form, orgs):
    response = coordinator_client.post("/events/new", data=event_form(organization_id=str(orgs["dongcheng"].id)))
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert count(db, Event) == 0


def test_coordinator_edits_an_event(db, coordinator_client, event_form, make_event, orgs):
    event = make_event(status="draft")
    page = coordinator_client.get(f"/events/{event.id}/edit")
    assert page.status_code == 200 and event.title in page.get_data(as_text=True)
    response = coordinator_client.post(
        f"/events/{event.id}/edit", data=event_form(title="改名后的活动", organization_id=str(orgs["nancheng_team"].id))
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert event.title == "改名后的活动" and event.organization_id == orgs["nancheng_team"].id


@pytest.mark.parametrize("who", ["other_coordinator", "volunteer", "reviewer"])
def test_others_cannot_edit_publish_or_cancel(
    db, make_user, make_client, login, orgs, make_event, make_shift, make_position, event_form, who
):
    event = make_event(status="draft")
    make_shift(make_position(event))
    if who == "other_coordinator":
        user = make_user(role=Role.COORDINATOR, role_org=orgs["dongcheng"], organization=orgs["dongcheng_team"])
    elif who == "reviewer":
        user = make_user(role=Role.REVIEWER, role_org=orgs["nancheng"])
    else:
        user = make_user()
    client = login(user, target=make_client())
    assert client.get(f"/events/{event.id}/edit").status_code == 403
    assert client.post(f"/events/{event.id}/edit", data=event_form(title="改不了")).status_code == 403
    assert client.get(f"/events/{event.id}/manage").status_code == 403
    assert client.post(f"/events/{event.id}/publish").status_code == 403
    assert client.post(f"/events/{event.id}/cancel").status_code == 403
    db.session.expire_all()
    assert event.status == "draft" and event.title != "改不了"


def test_city_admin_manages_events_everywhere(db, make_user, make_client, login, orgs, make_event):
    admin = make_user(role=Role.ADMIN, role_org=orgs["city"])
    client = login(admin, target=make_client())
    event = make_event(organization=orgs["dgut"], status="draft")
    assert client.get(f"/events/{event.id}/manage").status_code == 200


def test_publishing_needs_a_shift(db, coordinator_client, make_event, make_position, make_shift):
    event = make_event(status="draft", published_at=None)
    position = make_position(event)
    response = coordinator_client.post(f"/events/{event.id}/publish", follow_redirects=True)
    assert "Add at least one shift before publishing." in response.get_data(as_text=True)
    db.session.expire_all()
    assert event.status == "draft"
    make_shift(position)
    response = coordinator_client.post(f"/events/{event.id}/publish", follow_redirects=True)
    assert "Event published." in response.get_data(as_text=True)
    db.session.expire_all()
    assert event.status == "published" and event.published_at is not None


def test_cancelling_an_event_frees_and_tells_every_volunteer(
    db, coordinator_client, make_event, make_position, make_shift, make_user, now, event_form
):
    from events.signup import services as signup

    event = make_event()
    shift_a = make_shift(make_position(event), capacity=1)
    shift_b = make_shift(make_position(event), capacity=5)
    first, second, third = make_user(), make_user(), make_user()
    signup.sign_up(shift_a, first, now=now)
    signup.sign_up(shift_a, second, now=now, join_waitlist=True)
    signup.sign_up(shift_b, third, now=now)
    db.session.commit()
    response = coordinator_client.post(f"/events/{event.id}/cancel", data={"reason": "台风预警"}, follow_redirects=True)
    assert "Event cancelled; its volunteers have been told." in response.get_data(as_text=True)
    db.session.expire_all()
    assert event.status == "cancelled" and event.cancelled_at is not None
    statuses = set(db.session.scalars(select(Assignment.status)))
    assert statuses == {"cancelled"}
    assert shift_a.assigned_count == 0 and shift_a.is_cancelled and shift_b.assigned_count == 0
    told = db.session.execute(
        select(Notification.user_id, Notification.params).where(Notification.kind == "event_cancelled")
    ).all()
    assert sorted(user_id for user_id, _ in told) == sorted([first.id, second.id, third.id])
    assert all(params["event_title"] == event.title and params["reason"] == "台风预警" for _, params in told)
    # a cancelled event cannot be edited, published or cancelled again
    again = coordinator_client.post(f"/events/{event.id}/cancel", follow_redirects=True)
    assert "This event is cancelled and can no longer be changed." in again.get_data(as_text=True)
    edit = coordinator_client.post(f"/events/{event.id}/edit", data=event_form(title="复活"))
    assert edit.status_code == 422
    assert "This event is cancelled and can no longer be changed." in edit.get_data(as_text=True)


def test_my_events_lists_the_subtree_in_any_status(db, coordinator_client, make_event, orgs):
    make_event(title="草稿活动", status="draft", organization=orgs["nancheng_branch"])
    make_event(title="已发布活动")
    make_event(title="已取消活动", status="cancelled")
    make_event(title="东城的活动", organization=orgs["dongcheng"])
    page = coordinator_client.get("/events/manage").get_data(as_text=True)
    assert "草稿活动" in page and "已发布活动" in page and "已取消活动" in page
    assert "东城的活动" not in page
    drafts = coordinator_client.get("/events/manage?status=draft").get_data(as_text=True)
    assert "草稿活动" in drafts and "已发布活动" not in drafts


def test_titles_are_html_escaped(db, coordinator_client, make_event, make_position, make_shift, client):
    title = '<script>alert("x")</script>'
    event = make_event(title=title, description="<b>粗体</b>")
    make_shift(make_position(event, name="<i>引导</i>"))
    for page in (
        client.get(f"/events/{event.id}"),
        client.get("/events/"),
        coordinator_client.get(f"/events/{event.id}/manage"),
        coordinator_client.get("/events/manage"),
    ):
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert title not in text and "<b>粗体</b>" not in text and "<i>引导</i>" not in text
        assert "&lt;script&gt;" in text


def test_drafts_are_hidden_from_volunteers(make_event, volunteer_client, client, coordinator_client):
    event = make_event(status="draft")
    assert client.get(f"/events/{event.id}").status_code == 404
    assert volunteer_client.get(f"/events/{event.id}").status_code == 404
    assert coordinator_client.get(f"/events/{event.id}").status_code == 200


def test_moving_an_event_away_from_its_shifts_is_refused(
    db, coordinator_client, make_event, make_position, make_shift, event_form, local_time
):
    event = make_event()
    make_shift(make_position(event))  # tomorrow 09:00-12:00
    response = coordinator_client.post(
        f"/events/{event.id}/edit",
        data=event_form(
            starts_at=local_input(local_time(1, 10)), ends_at=local_input(local_time(1, 18)), signup_closes_at=None
        ),
    )
    assert response.status_code == 422
    assert "Some shifts lie outside this time range" in response.get_data(as_text=True)
    db.session.expire_all()
    assert event.starts_at == local_time(1, 8)


def test_changing_the_place_tells_volunteers(
    db, coordinator_client, make_event, make_position, make_shift, make_user, event_form, now, local_time
):
    from events.signup import services as signup

    event = make_event()
    shift = make_shift(make_position(event))
    volunteer = make_user()
    signup.sign_up(shift, volunteer, now=now)
    db.session.commit()
    response = coordinator_client.post(
        f"/events/{event.id}/edit",
        data=event_form(
            title=event.title,
            starts_at=local_input(event.starts_at),
            ends_at=local_input(event.ends_at),
            place="南城街道新地址",
            signup_closes_at=None,
        ),
    )
    assert response.status_code == 302
    kinds = list(db.session.scalars(select(Notification.kind).where(Notification.user_id == volunteer.id)))
    assert "event_changed" in kinds


def test_coordinator_forms_render(coordinator_client, make_shift):
    shift = make_shift()
    for path in (
        "/events/new",
        f"/events/{shift.event_id}/manage",
        f"/events/{shift.event_id}/edit",
        f"/events/{shift.event_id}/positions/new",
        f"/events/positions/{shift.position_id}/edit",
        f"/events/positions/{shift.position_id}/shifts/new",
        f"/events/shifts/{shift.id}/edit",
        f"/events/{shift.event_id}/shifts/bulk",
        "/events/manage",
    ):
        response = coordinator_client.get(path)
        assert response.status_code == 200, path
        assert "<script>" not in response.get_data(as_text=True)
    bulk = coordinator_client.get(f"/events/{shift.event_id}/shifts/bulk").get_data(as_text=True)
    assert "08:00-12:00" in bulk and f'name="headcount_{shift.position_id}"' in bulk
