"""Sign-up, cancellation and coordinator staffing through the API, with machine-readable refusals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.timeutil import utcnow
from events.models import Assignment, Shift


def _code(response) -> str:
    return response.get_json()["error"]["code"]


def test_volunteer_signs_up_and_cancels(token_api, volunteer, make_event, make_shift, db):
    shift = make_shift(make_event(cancel_cutoff_hours=1), capacity=2)
    api = token_api(volunteer)
    mine = api.post(f"/shifts/{shift.id}/signup", json={"join_waitlist": False}, expect=201).get_json()
    assert (mine["status"], mine["source"], mine["shift"]["id"]) == ("assigned", "self", shift.id)
    assert api.get(f"/shifts/{shift.id}").get_json()["open_places"] == 1
    assert _code(api.post(f"/shifts/{shift.id}/signup", json={}, expect=409)) == "already_signed_up"
    cancelled = api.post(f"/assignments/{mine['id']}/cancel", json={"reason": "临时有事"}, expect=200).get_json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"]
    assert api.get(f"/shifts/{shift.id}").get_json()["open_places"] == 2
    assert _code(api.post(f"/assignments/{mine['id']}/cancel", expect=409)) == "not_active"


def test_full_shift_refuses_with_shift_full_and_offers_the_waitlist(
    token_api, volunteer, make_user, make_event, make_shift
):
    shift = make_shift(make_event(cancel_cutoff_hours=1), capacity=1)
    first_api = token_api(make_user())
    first = first_api.post(f"/shifts/{shift.id}/signup", json={}, expect=201).get_json()
    api = token_api(volunteer)
    refused = api.post(f"/shifts/{shift.id}/signup", json={}, expect=409).get_json()["error"]
    assert refused["code"] == "shift_full" and refused["details"]["waitlist_available"] is True
    waiting = api.post(f"/shifts/{shift.id}/signup", json={"join_waitlist": True}, expect=201).get_json()
    assert waiting["status"] == "waitlisted"
    # the first volunteer cancels: the waitlisted one is promoted
    first_api.post(f"/assignments/{first['id']}/cancel", json={}, expect=200)
    assert api.get(f"/assignments/{waiting['id']}").get_json()["status"] == "assigned"


def test_overlap_is_refused_with_its_code(token_api, volunteer, make_shift, make_event, local_time):
    one = make_shift()
    other = make_shift(make_event(), starts_at=local_time(1, 10))
    api = token_api(volunteer)
    api.post(f"/shifts/{one.id}/signup", json={}, expect=201)
    refused = api.post(f"/shifts/{other.id}/signup", json={}, expect=409).get_json()["error"]
    assert refused["code"] == "overlap" and "overlap" in refused["details"]["violations"]


def test_missing_skill_and_under_age_are_refused_with_every_reason(token_api, make_user, make_shift, make_skill):
    skill = make_skill("手语", "language", name_en="Sign language")
    young = make_user(birth=date.today().replace(year=date.today().year - 15))
    shift = make_shift(min_age=18, skills=[skill])
    refused = token_api(young).post(f"/shifts/{shift.id}/signup", json={}, expect=409).get_json()["error"]
    assert refused["code"] == "missing_skill"
    assert refused["details"]["violations"] == ["missing_skill", "under_age"]


def test_closed_sign_up_is_refused(token_api, volunteer, make_event, make_shift):
    event = make_event(signup_opens_at=utcnow() + timedelta(hours=1))
    shift = make_shift(event)
    assert _code(token_api(volunteer).post(f"/shifts/{shift.id}/signup", json={}, expect=409)) == "signup_not_open"


def test_cancel_after_the_cutoff_is_refused(token_api, volunteer, make_event, make_shift, local_time):
    event = make_event(cancel_cutoff_hours=72)
    shift = make_shift(event)
    api = token_api(volunteer)
    mine = api.post(f"/shifts/{shift.id}/signup", json={}, expect=201).get_json()
    assert _code(api.post(f"/assignments/{mine['id']}/cancel", json={}, expect=409)) == "cancel_cutoff_passed"


def test_coordinator_assigns_overrides_and_unassigns(token_api, coordinator, make_user, make_shift, db):
    young = make_user(birth=date.today().replace(year=date.today().year - 15))
    shift = make_shift(min_age=18)
    api = token_api(coordinator)
    refused = api.post(f"/shifts/{shift.id}/assignments", json={"user_id": young.id}, expect=409).get_json()
    assert refused["error"]["code"] == "under_age"
    no_reason = api.post(
        f"/shifts/{shift.id}/assignments", expect=400, json={"user_id": young.id, "override_rules": ["under_age"]}
    ).get_json()
    assert no_reason["error"]["code"] == "override_reason_required"
    placed = api.post(
        f"/shifts/{shift.id}/assignments",
        expect=201,
        json={"user_id": young.id, "override_rules": ["under_age"], "override_reason": "监护人陪同"},
    ).get_json()
    assert (placed["status"], placed["source"]) == ("assigned", "coordinator")
    assert placed["override_rules"] == ["under_age"] and placed["override_reason"] == "监护人陪同"

    assert _code(api.delete(f"/assignments/{placed['id']}", json={}, expect=422)) == "validation_failed"
    gone = api.delete(f"/assignments/{placed['id']}", json={"reason": "岗位调整"}, expect=200).get_json()
    assert gone["status"] == "cancelled"


def test_capacity_cannot_be_overridden(token_api, coordinator, make_user, make_shift):
    shift = make_shift(capacity=1)
    api = token_api(coordinator)
    api.post(f"/shifts/{shift.id}/assignments", json={"user_id": make_user().id}, expect=201)
    response = api.post(
        f"/shifts/{shift.id}/assignments",
        expect=422,
        json={"user_id": make_user().id, "override_rules": ["shift_full"], "override_reason": "x"},
    )
    assert response.get_json()["error"]["field"] == "override_rules[0]"
    assert (
        _code(api.post(f"/shifts/{shift.id}/assignments", json={"user_id": make_user().id}, expect=409)) == "shift_full"
    )


def test_coordinator_moves_a_volunteer(token_api, coordinator, volunteer, make_shift, local_time, db):
    shift = make_shift()
    later = make_shift(position=shift.position, starts_at=local_time(1, 14))
    mine = token_api(volunteer).post(f"/shifts/{shift.id}/signup", json={}, expect=201).get_json()
    moved = (
        token_api(coordinator)
        .post(f"/assignments/{mine['id']}/move", json={"to_shift_id": later.id}, expect=201)
        .get_json()
    )
    assert moved["shift"]["id"] == later.id and moved["status"] == "assigned"
    assert token_api(volunteer).get(f"/assignments/{mine['id']}").get_json()["status"] == "cancelled"
    token_api(volunteer).post(f"/assignments/{moved['id']}/move", json={"to_shift_id": shift.id}, expect=403)


@pytest.mark.parametrize("who", ["volunteer", "other_coordinator"])
def test_staffing_is_refused_outside_ones_organizations(request, token_api, make_user, make_shift, who, db):
    shift = make_shift()
    target = make_user()
    placed = token_api(target).post(f"/shifts/{shift.id}/signup", json={}, expect=201).get_json()
    api = token_api(request.getfixturevalue(who))
    response = api.post(f"/shifts/{shift.id}/assignments", json={"user_id": make_user().id}, expect=403)
    assert response.get_json()["error"]["code"] == "not_coordinator"
    api.delete(f"/assignments/{placed['id']}", json={"reason": "x"}, expect=404)  # not even visible
    assert db.session.scalar(select(Assignment.status).where(Assignment.id == placed["id"])) == "assigned"


def test_assigning_an_unknown_or_out_of_scope_volunteer(token_api, coordinator, make_user, make_shift, orgs):
    shift = make_shift()
    api = token_api(coordinator)
    for user_id in (999_999, make_user(organization=orgs["dgut_team"]).id):
        error = api.post(f"/shifts/{shift.id}/assignments", json={"user_id": user_id}, expect=404).get_json()
        assert error["error"]["code"] == "unknown_volunteer" and error["error"]["field"] == "user_id"


def test_a_volunteer_cannot_sign_up_someone_else(token_api, volunteer, make_user, make_shift, db):
    shift = make_shift()
    other = make_user()
    token_api(volunteer).post(f"/shifts/{shift.id}/signup", json={"user_id": other.id}, expect=422)
    assert db.session.scalar(select(Shift.assigned_count).where(Shift.id == shift.id)) == 0
