"""River-patrol pages through the test client: list, detail with sketch and sign-up, team page, forms, access."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from app.timeutil import utcnow
from events.models import Assignment, Event, EventKind, EventStatus
from patrols.segments.models import PatrolSchedule, RiverSegment

POINTS = "23.0200,113.7500\n23.0200,113.7600\n23.0300,113.7700"


def _form(orgs, chief=None, **changes) -> dict:
    data = {
        "river_name": "寒溪河",
        "name": "东城段",
        "town_id": str(orgs["nancheng"].id),
        "team_id": str(orgs["nancheng_team"].id),
        "chief_mobile": chief.mobile if chief else "",
        "points": POINTS,
        "checkin_distance_m": "150",
        "geofence_mode": "flag",
        "allow_walk_ins": "y",
        "description": "",
        "is_active": "y",
    }
    data.update(changes)
    return data


def test_a_coordinator_creates_a_segment_with_its_patrol_event(client, login, db, coordinator, chief, orgs):
    login(coordinator)
    assert client.get("/patrols/segments/new").status_code == 200

    response = client.post("/patrols/segments/new", data=_form(orgs, chief))

    assert response.status_code == 302
    segment = db.session.scalar(select(RiverSegment))
    assert response.headers["Location"].endswith(f"/patrols/segments/{segment.id}")
    assert (segment.river_name, segment.name, segment.chief_id, segment.checkin_distance_m, segment.geofence_mode) == (
        "寒溪河",
        "东城段",
        chief.id,
        150,
        "flag",
    )
    assert segment.points == [[23.02, 113.75], [23.02, 113.76], [23.03, 113.77]] and 2500 < segment.length_m < 2600
    event = db.session.get(Event, segment.event_id)
    assert (event.kind, event.status, event.organization_id, event.allow_walk_ins, event.geofence_mode) == (
        EventKind.RIVER_PATROL.value,
        EventStatus.DRAFT.value,
        orgs["nancheng_team"].id,
        True,
        "flag",
    )


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"points": "23.02,113.75"}, "Enter at least two points"),
        ({"points": "23.02,113.75\nsomewhere"}, "Line 2: write latitude,longitude"),
        ({"points": "23.02,113.75\n91,113.76"}, "Line 2: the latitude must be between -90 and 90."),
        ({"checkin_distance_m": "0"}, "The distance must be between 10 and 5000 metres."),
        ({"chief_mobile": "13000000000"}, "No active volunteer has this mobile number."),
        ({"team_id": ""}, "This field is required."),
        ({"points": "23.02,113.75\n23.02,113.75"}, "The points must not all be the same place."),
        ({"points": "23.0,113.0\n23.9,113.9"}, "The segment is too long for one patrol"),
    ],
)
def test_bad_input_is_shown_beside_the_field(client, login, db, coordinator, orgs, changes, message):
    login(coordinator)

    response = client.post("/patrols/segments/new", data=_form(orgs, **changes))

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(RiverSegment)) is None


def test_the_same_name_on_the_same_river_is_refused(client, login, make_segment, coordinator, orgs):
    segment = make_segment()
    login(coordinator)

    response = client.post("/patrols/segments/new", data=_form(orgs, river_name=segment.river_name, name=segment.name))

    assert response.status_code == 422 and "This river already has a segment with that name." in response.text


def test_a_team_the_coordinator_does_not_coordinate_is_refused(client, login, db, orgs, outsider):
    login(outsider)  # 东城街道's coordinator, choosing 南城's team

    response = client.post("/patrols/segments/new", data=_form(orgs, town_id=str(orgs["dongcheng"].id)))

    assert response.status_code == 422 and "Not a valid choice" in response.text
    assert db.session.scalar(select(RiverSegment)) is None


def test_a_volunteer_cannot_create_a_segment(client, login, volunteer, orgs, db):
    login(volunteer)

    assert client.get("/patrols/segments/new").status_code == 403
    assert client.post("/patrols/segments/new", data=_form(orgs)).status_code == 403
    assert db.session.scalar(select(RiverSegment)) is None


def test_a_coordinator_of_another_town_cannot_edit(client, login, make_segment, outsider, orgs, db):
    segment = make_segment()
    login(outsider)

    assert client.get(f"/patrols/segments/{segment.id}/edit").status_code == 403
    response = client.post(f"/patrols/segments/{segment.id}/edit", data=_form(orgs, name="改名"))
    assert response.status_code == 403
    assert client.get(f"/patrols/segments/{segment.id}/schedules/new").status_code == 403
    db.session.expire_all()
    assert db.session.get(RiverSegment, segment.id).name != "改名"


def test_the_teams_coordinator_edits_and_the_event_follows(client, login, make_segment, team_coordinator, orgs, db):
    segment = make_segment()
    login(team_coordinator)
    assert client.get(f"/patrols/segments/{segment.id}/edit").status_code == 200

    response = client.post(
        f"/patrols/segments/{segment.id}/edit",
        data=_form(orgs, name="新南城段", geofence_mode="refuse", allow_walk_ins=""),
    )

    assert response.status_code == 302
    db.session.expire_all()
    event = db.session.get(Event, segment.event_id)
    assert db.session.get(RiverSegment, segment.id).name == "新南城段"
    assert "新南城段" in event.title and event.geofence_mode == "refuse" and event.allow_walk_ins is False


def test_the_segment_page_shows_the_sketch_schedule_and_upcoming_patrols(
    client, login, make_segment, make_schedule, volunteer, chief
):
    now = utcnow()
    segment = make_segment(now=now)
    make_schedule(segment, now=now, weekdays=range(7), starts=time(23), ends=time(23, 59))
    login(volunteer)

    page = client.get(f"/patrols/segments/{segment.id}")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and 'class="sketch-river" d="M ' in html and "<script" not in html.split("<footer")[0]
    assert "周河长" in html and "2.54 km" in html
    assert "23:00–23:59" in html and "Sign up" in html
    assert "Patrol check-in" not in html and "Edit segment" not in html


def test_a_volunteer_signs_up_for_a_patrol_from_the_segment_page(
    client, login, make_segment, make_schedule, db, volunteer, patrol_shifts
):
    now = utcnow()
    segment = make_segment(now=now)
    make_schedule(segment, now=now, weekdays=range(7), starts=time(23), ends=time(23, 59))
    shift = next(s for _day, s in patrol_shifts(segment) if s.starts_at > utcnow())  # not under way
    login(volunteer)

    response = client.post(f"/events/shifts/{shift.id}/sign-up")

    assert response.status_code == 302
    [assignment] = db.session.scalars(select(Assignment).where(Assignment.user_id == volunteer.id)).all()
    assert assignment.shift_id == shift.id and assignment.status == "assigned"
    assert "You are signed up" in client.get(f"/patrols/segments/{segment.id}").text


def test_the_river_chief_opens_the_patrols_check_in(
    client, login, make_segment, make_schedule, chief, volunteer, make_client
):
    now = utcnow()
    segment = make_segment(now=now)
    make_schedule(segment, now=now, weekdays=range(7), starts=time(23), ends=time(23, 59))
    login(chief)

    assert "Patrol check-in" in client.get(f"/patrols/segments/{segment.id}").text
    assert client.get(f"/checkin/events/{segment.event_id}").status_code == 200
    assert client.get(f"/checkin/events/{segment.event_id}/scanner").status_code == 200
    other = login(volunteer, target=make_client())
    assert other.get(f"/checkin/events/{segment.event_id}").status_code == 403


def test_lists_filter_by_town_team_and_river(client, login, make_segment, volunteer, orgs, team_coordinator):
    make_segment(river_name="东莞运河", name="甲段")
    make_segment(river_name="寒溪河", name="乙段")
    make_segment(river_name="寒溪河", name="丙段", by=team_coordinator)
    login(volunteer)

    everything = client.get("/patrols/").text
    by_river = client.get("/patrols/?river=寒溪河").text
    by_town = client.get(f"/patrols/?town={orgs['dongcheng'].id}").text
    by_team = client.get(f"/patrols/?team={orgs['nancheng_team'].id}").text

    assert all(name in everything for name in ("甲段", "乙段", "丙段"))
    assert "甲段" not in by_river and "乙段" in by_river and "丙段" in by_river
    assert "No river segments match these filters." in by_town
    assert all(name in by_team for name in ("甲段", "乙段", "丙段"))


def test_the_team_page_lists_its_segments(client, login, make_segment, volunteer, orgs):
    make_segment(name="甲段")
    login(volunteer)

    page = client.get(f"/patrols/teams/{orgs['nancheng_team'].id}")
    other = client.get(f"/patrols/teams/{orgs['dongcheng_team'].id}")

    assert page.status_code == 200 and "甲段" in page.text
    assert "This team has not adopted a river segment yet." in other.text
    assert client.get(f"/patrols/teams/{orgs['nancheng'].id}").status_code == 404  # a town is not a team
    assert client.get("/patrols/teams/999999").status_code == 404


def test_pages_need_a_login(client, make_segment):
    segment = make_segment()

    for path in ("/patrols/", f"/patrols/segments/{segment.id}", "/patrols/segments/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_schedules_through_the_forms(client, login, make_segment, coordinator, outsider, make_client, db):
    segment = make_segment()
    login(coordinator)
    form = {
        "weekdays": ["5", "6"],
        "starts_local": "09:00",
        "ends_local": "11:00",
        "headcount": "4",
        "valid_from": utcnow().date().isoformat(),
        "valid_until": "",
        "meeting_point": "簪花桥",
        "is_active": "y",
    }

    assert client.get(f"/patrols/segments/{segment.id}/schedules/new").status_code == 200
    bad = client.post(f"/patrols/segments/{segment.id}/schedules/new", data={**form, "weekdays": []})
    assert bad.status_code == 422 and "Choose at least one weekday." in bad.text
    backwards = client.post(f"/patrols/segments/{segment.id}/schedules/new", data={**form, "ends_local": "08:00"})
    assert backwards.status_code == 422 and "The patrol must end after it starts" in backwards.text
    assert client.post(f"/patrols/segments/{segment.id}/schedules/new", data=form).status_code == 302
    schedule = db.session.scalar(select(PatrolSchedule))
    assert schedule.weekdays == "0000011" and schedule.headcount == 4

    assert client.get(f"/patrols/schedules/{schedule.id}/edit").status_code == 200
    changed = client.post(f"/patrols/schedules/{schedule.id}/edit", data={**form, "headcount": "6"})
    assert changed.status_code == 302
    db.session.expire_all()
    assert db.session.get(PatrolSchedule, schedule.id).headcount == 6

    stranger = login(outsider, target=make_client())
    assert stranger.get(f"/patrols/schedules/{schedule.id}/edit").status_code == 403
    assert stranger.post(f"/patrols/schedules/{schedule.id}/edit", data=form).status_code == 403
    assert client.get("/patrols/schedules/999999/edit").status_code == 404
