"""Reading events, positions, shifts and assignments: what volunteers and coordinators see."""

from __future__ import annotations

from datetime import timedelta

from app.timeutil import utcnow
from events.models import EventKind, EventStatus


def test_events_list_shows_published_events_only(token_api, volunteer, make_event):
    published = make_event()
    make_event(status=EventStatus.DRAFT.value, published_at=None)
    make_event(starts_at=utcnow() - timedelta(days=3))  # over already
    body = token_api(volunteer).get("/events", expect=200).get_json()
    assert [e["id"] for e in body["items"]] == [published.id]
    assert body["total"] == 1 and body["page"] == 1 and body["pages"] == 1
    item = body["items"][0]
    assert item["status"] == "published" and item["organization"]["name"] == "南城街道"
    assert item["starts_at"].endswith("+00:00")


def test_events_filters_by_time_kind_and_organization_subtree(token_api, volunteer, make_event, orgs, local_time):
    nancheng = make_event(kind=EventKind.RIVER_PATROL.value)
    team = make_event(organization=orgs["nancheng_team"])
    dongcheng = make_event(organization=orgs["dongcheng"], starts_at=local_time(5, 8))
    api = token_api(volunteer)

    def ids(**query):
        return {e["id"] for e in api.get("/events", query=query, expect=200).get_json()["items"]}

    assert ids() == {nancheng.id, team.id, dongcheng.id}
    assert ids(kind="river_patrol") == {nancheng.id}
    assert ids(organization_id=orgs["nancheng"].id) == {nancheng.id, team.id}
    assert ids(organization_id=orgs["nancheng_team"].id) == {team.id}
    assert ids(**{"from": local_time(3, 0).isoformat()}) == {dongcheng.id}
    assert ids(to=local_time(3, 0).isoformat()) == {nancheng.id, team.id}
    # an unencoded "+" in the offset arrives as a space and is still understood
    assert ids(to=local_time(3, 0).isoformat().replace("+", " ")) == {nancheng.id, team.id}


def test_events_paging(token_api, volunteer, make_event):
    for _ in range(3):
        make_event()
    api = token_api(volunteer)
    first = api.get("/events", query={"per_page": 2}, expect=200).get_json()
    second = api.get("/events", query={"per_page": 2, "page": 2}, expect=200).get_json()
    assert (first["total"], first["pages"], len(first["items"]), len(second["items"])) == (3, 2, 2, 1)
    assert api.get("/events", query={"page": 9}, expect=200).get_json()["items"] == []


def test_drafts_are_listed_only_for_their_coordinators(
    token_api, volunteer, coordinator, other_coordinator, make_event
):
    draft = make_event(status=EventStatus.DRAFT.value, published_at=None)
    query = {"status": "draft"}
    assert [e["id"] for e in token_api(coordinator).get("/events", query=query).get_json()["items"]] == [draft.id]
    assert token_api(other_coordinator).get("/events", query=query).get_json()["items"] == []
    assert token_api(volunteer).get("/events", query=query).get_json()["items"] == []


def test_event_detail_has_positions_with_requirements(token_api, volunteer, make_event, make_shift, make_skill):
    skill = make_skill("急救", name_en="First aid")
    event = make_event()
    shift = make_shift(event, min_age=16, skills=[skill])
    body = token_api(volunteer).get(f"/events/{event.id}", expect=200).get_json()
    assert body["id"] == event.id
    [position] = body["positions"]
    assert position["id"] == shift.position_id and position["min_age"] == 16
    assert position["required_skills"] == [{"id": skill.id, "name": "急救", "name_en": "First aid", "kind": "skill"}]
    got = token_api(volunteer).get(f"/positions/{position['id']}", expect=200).get_json()
    assert got == position


def test_a_draft_is_hidden_from_volunteers_and_other_coordinators(
    token_api, volunteer, coordinator, other_coordinator, make_event, make_shift
):
    draft = make_event(status=EventStatus.DRAFT.value, published_at=None)
    shift = make_shift(draft)
    for user in (volunteer, other_coordinator):
        api = token_api(user)
        assert api.get(f"/events/{draft.id}", expect=404).get_json()["error"]["code"] == "not_found"
        api.get(f"/events/{draft.id}/shifts", expect=404)
        api.get(f"/shifts/{shift.id}", expect=404)
        api.get(f"/positions/{shift.position_id}", expect=404)
    token_api(coordinator).get(f"/events/{draft.id}", expect=200)


def test_shifts_show_open_places_waitlist_and_my_place(
    token_api, volunteer, make_user, make_event, make_shift, local_time
):
    event = make_event()
    early = make_shift(event, capacity=1)
    late = make_shift(event, position=early.position, capacity=3, starts_at=local_time(1, 14))
    other = make_user()
    token_api(other).post(f"/shifts/{early.id}/signup", json={}, expect=201)
    api = token_api(volunteer)
    waiting = api.post(f"/shifts/{early.id}/signup", json={"join_waitlist": True}, expect=201).get_json()

    body = api.get(f"/events/{event.id}/shifts", expect=200).get_json()
    assert [s["id"] for s in body["items"]] == [early.id, late.id]
    first, second = body["items"]
    assert (first["capacity"], first["assigned_count"], first["open_places"], first["waitlisted_count"]) == (1, 1, 0, 1)
    assert first["my_place"] == {"assignment_id": waiting["id"], "status": "waitlisted"}
    assert (second["open_places"], second["my_place"]) == (3, None)
    assert api.get(f"/shifts/{late.id}", expect=200).get_json() == second

    filtered = api.get(f"/events/{event.id}/shifts", query={"from": local_time(1, 13).isoformat()}).get_json()
    assert [s["id"] for s in filtered["items"]] == [late.id]


def test_my_assignments_lists_only_my_own(token_api, volunteer, make_user, make_shift):
    shift = make_shift()
    other = make_user()
    token_api(other).post(f"/shifts/{shift.id}/signup", json={}, expect=201)
    api = token_api(volunteer)
    assert api.get("/me/assignments", expect=200).get_json()["items"] == []
    mine = api.post(f"/shifts/{shift.id}/signup", json={}, expect=201).get_json()
    body = api.get("/me/assignments", query={"upcoming": "true"}, expect=200).get_json()
    assert [a["id"] for a in body["items"]] == [mine["id"]]
    assert body["items"][0]["volunteer"]["id"] == volunteer.id
    assert api.get("/me/assignments", query={"status": "cancelled"}).get_json()["items"] == []
    assert api.get(f"/assignments/{mine['id']}", expect=200).get_json() == body["items"][0]


def test_someone_elses_assignment_is_not_found(token_api, volunteer, make_user, make_shift):
    shift = make_shift()
    theirs = token_api(make_user()).post(f"/shifts/{shift.id}/signup", json={}, expect=201).get_json()
    api = token_api(volunteer)
    api.get(f"/assignments/{theirs['id']}", expect=404)
    api.post(f"/assignments/{theirs['id']}/cancel", json={}, expect=404)


def test_roster_is_for_the_events_coordinators(
    token_api, volunteer, coordinator, other_coordinator, make_shift, orgs, make_user
):
    shift = make_shift()
    token_api(volunteer).post(f"/shifts/{shift.id}/signup", json={}, expect=201)
    roster = token_api(coordinator).get(f"/shifts/{shift.id}/assignments", expect=200).get_json()
    assert [a["volunteer"]["id"] for a in roster["items"]] == [volunteer.id]
    filtered = token_api(coordinator).get(f"/shifts/{shift.id}/assignments", query={"status": "waitlisted"})
    assert filtered.get_json()["items"] == []
    for user in (volunteer, other_coordinator):
        response = token_api(user).get(f"/shifts/{shift.id}/assignments", expect=403)
        assert response.get_json()["error"]["code"] == "not_coordinator"
    # a coordinator higher up the tree (the city) sees it too
    city = make_user(organization=orgs["city"], role="coordinator", role_org=orgs["city"])
    token_api(city).get(f"/shifts/{shift.id}/assignments", expect=200)
