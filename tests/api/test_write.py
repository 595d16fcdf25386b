"""Coordinators write events, positions and shifts; volunteers and other organizations' coordinators cannot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit import AuditLog
from events.models import Event, EventStatus, Shift


@pytest.fixture
def event_body(orgs, local_time):
    def make(**fields) -> dict:
        body = {
            "title": "南城河小青护河行动",
            "kind": "river_patrol",
            "organization_id": orgs["nancheng_team"].id,
            "starts_at": local_time(2, 8).isoformat(),
            "ends_at": local_time(2, 18).isoformat(),
            "place": "南城水濂山河段",
            "description": "沿河巡查",
            "cancel_cutoff_hours": 12,
        }
        body.update(fields)
        return body

    return make


def test_coordinator_builds_and_publishes_an_event(token_api, coordinator, event_body, local_time, db):
    api = token_api(coordinator)
    event = api.post(
        "/events", json=event_body(latitude=23.02, longitude=113.75, checkin_radius_m=300), expect=201
    ).get_json()
    assert event["status"] == "draft" and event["positions"] == [] and event["checkin_radius_m"] == 300
    assert event["organization"]["name"] == "南城街道志愿服务队"

    position = api.post(
        f"/events/{event['id']}/positions", json={"name": "巡河员", "min_age": 16}, expect=201
    ).get_json()
    assert position["event_id"] == event["id"] and position["min_age"] == 16
    refused = api.post(f"/events/{event['id']}/publish", expect=409).get_json()
    assert refused["error"]["code"] == "no_shifts"

    shift = api.post(
        f"/positions/{position['id']}/shifts",
        expect=201,
        json={
            "starts_at": local_time(2, 9).isoformat(),
            "ends_at": local_time(2, 11).isoformat(),
            "capacity": 5,
            "meeting_point": "水濂山公园东门",
        },
    ).get_json()
    assert (shift["capacity"], shift["open_places"], shift["position"]["name"]) == (5, 5, "巡河员")

    published = api.post(f"/events/{event['id']}/publish", expect=200).get_json()
    assert published["status"] == "published" and published["published_at"]
    assert [p["name"] for p in published["positions"]] == ["巡河员"]
    assert api.post(f"/events/{event['id']}/publish", expect=409).get_json()["error"]["code"] == "already_published"

    row = db.session.get(Event, event["id"])
    assert row.created_by_id == coordinator.id
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.actor_id == coordinator.id)))
    assert {"event.create", "position.create", "shift.create", "event.publish"} <= actions


def test_patch_changes_only_the_fields_given(token_api, coordinator, make_event, make_shift):
    event = make_event()
    make_shift(event)
    api = token_api(coordinator)
    body = api.patch(
        f"/events/{event.id}", json={"place": "南城国际会展中心", "brand_tag": "青春情暖"}, expect=200
    ).get_json()
    assert (body["place"], body["brand_tag"], body["title"]) == ("南城国际会展中心", "青春情暖", event.title)
    refused = api.patch(f"/events/{event.id}", json={"ends_at": event.starts_at.isoformat()}, expect=400)
    assert refused.get_json()["error"]["field"] == "ends_at"


def test_shift_edit_and_cancel(token_api, coordinator, volunteer, make_shift):
    shift = make_shift(capacity=2)
    token_api(volunteer).post(f"/shifts/{shift.id}/signup", json={}, expect=201)
    api = token_api(coordinator)
    body = api.patch(f"/shifts/{shift.id}", json={"capacity": 4, "meeting_point": "东门"}, expect=200).get_json()
    assert (body["capacity"], body["assigned_count"], body["meeting_point"]) == (4, 1, "东门")
    later = (shift.starts_at + timedelta(hours=1)).isoformat()
    moved = api.patch(f"/shifts/{shift.id}", json={"starts_at": later}, expect=409).get_json()
    assert moved["error"]["code"] == "shift_in_use"
    cancelled = api.post(f"/shifts/{shift.id}/cancel", json={"reason": "暴雨"}, expect=200).get_json()
    assert cancelled["is_cancelled"] is True and cancelled["assigned_count"] == 0
    mine = token_api(volunteer).get("/me/assignments").get_json()["items"]
    assert [a["status"] for a in mine] == ["cancelled"]


def test_cancel_event_releases_volunteers(token_api, coordinator, volunteer, make_shift, db):
    shift = make_shift()
    token_api(volunteer).post(f"/shifts/{shift.id}/signup", json={}, expect=201)
    body = (
        token_api(coordinator).post(f"/events/{shift.event_id}/cancel", json={"reason": "台风"}, expect=200).get_json()
    )
    assert body["status"] == "cancelled" and body["cancelled_at"]
    assert [a["status"] for a in token_api(volunteer).get("/me/assignments").get_json()["items"]] == ["cancelled"]
    token_api(coordinator).patch(f"/events/{shift.event_id}", json={"title": "x"}, expect=409)
    # cancelling needs no body at all
    other = make_shift()
    token_api(coordinator).post(f"/events/{other.event_id}/cancel", expect=200)


WRITES = [
    ("POST", "/events/{event}/publish", None),
    ("POST", "/events/{event}/cancel", {}),
    ("PATCH", "/events/{event}", {"title": "改名"}),
    ("POST", "/events/{event}/positions", {"name": "翻译"}),
    ("PATCH", "/positions/{position}", {"name": "翻译"}),
    ("POST", "/positions/{position}/shifts", "shift"),
    ("PATCH", "/shifts/{shift}", {"capacity": 3}),
    ("POST", "/shifts/{shift}/cancel", {}),
]


@pytest.mark.parametrize("method, template, body", WRITES)
@pytest.mark.parametrize("who", ["volunteer", "other_coordinator"])
def test_writes_are_refused_outside_ones_organizations(
    request, token_api, make_event, make_shift, method, template, body, who, db
):
    event = make_event(status=EventStatus.PUBLISHED.value)
    shift = make_shift(event)
    if body == "shift":
        body = {"starts_at": shift.starts_at.isoformat(), "ends_at": shift.ends_at.isoformat(), "capacity": 2}
    path = template.format(event=event.id, position=shift.position_id, shift=shift.id)
    api = token_api(request.getfixturevalue(who))
    before = db.session.scalar(select(func.count(AuditLog.id)))
    response = api.request(method, path, json=body, expect=403)
    assert response.get_json()["error"]["code"] == "not_coordinator"
    assert db.session.scalar(select(func.count(AuditLog.id))) == before


@pytest.mark.parametrize("who", ["volunteer", "other_coordinator"])
def test_creating_an_event_for_someone_elses_organization_is_refused(request, token_api, event_body, db, who):
    response = token_api(request.getfixturevalue(who)).post("/events", json=event_body(), expect=403)
    assert response.get_json()["error"]["code"] == "not_coordinator"
    assert db.session.scalar(select(func.count(Event.id))) == 0


def test_a_coordinator_cannot_move_an_event_out_of_their_subtree(token_api, coordinator, make_event, orgs):
    event = make_event()
    token_api(coordinator).patch(f"/events/{event.id}", json={"organization_id": orgs["dongcheng"].id}, expect=403)


@pytest.mark.parametrize(
    "field, value",
    [
        ("status", "published"),
        ("created_by_id", 1),
        ("published_at", "2026-01-01T00:00:00+08:00"),
        ("id", 99),
        ("assigned_count", 3),
    ],
)
def test_mass_assignment_of_server_fields_is_refused(token_api, coordinator, event_body, field, value, db):
    response = token_api(coordinator).post("/events", json=event_body(**{field: value}), expect=422)
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and error["field"] == field
    assert db.session.scalar(select(func.count(Event.id))) == 0


@pytest.mark.parametrize(
    "field, value", [("assigned_count", 10), ("is_cancelled", True), ("event_id", 1), ("position_id", 1)]
)
def test_shift_counters_cannot_be_set_by_clients(token_api, coordinator, make_shift, field, value, db):
    shift = make_shift(capacity=10)
    token_api(coordinator).patch(f"/shifts/{shift.id}", json={field: value}, expect=422)
    db.session.expire_all()
    row = db.session.get(Shift, shift.id)
    assert (row.assigned_count, row.is_cancelled) == (0, False)


def test_write_rate_limit_answers_429_json(app, token_api, coordinator, make_event):
    app.config["API_WRITE_RATE_LIMIT"] = "2 per minute"
    event = make_event()
    api = token_api(coordinator)
    api.patch(f"/events/{event.id}", json={"place": "一"}, expect=200)
    api.patch(f"/events/{event.id}", json={"place": "二"}, expect=200)
    response = api.patch(f"/events/{event.id}", json={"place": "三"}, expect=429)
    assert response.get_json()["error"]["code"] == "too_many_requests"
    api.get(f"/events/{event.id}", expect=200)  # reads are not limited
