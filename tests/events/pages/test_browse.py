"""The volunteers' event list: filters, pagination, open places; the event page in a few queries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories
from volunteers.organizations.models import OrgKind


@pytest.fixture
def catalogue(make_event, make_position, make_shift, make_skill, make_org, orgs, local_time):
    """Published events of several kinds, towns and days, plus a draft and a cancelled one."""
    sign_language = make_skill("手语")
    humen = make_org("虎门镇", OrgKind.TOWN, orgs["city"])
    humen_team = make_org("虎门镇志愿服务队", OrgKind.TEAM, humen)
    events = {
        "nancheng_tomorrow": make_event(title="南城明天的社区服务", organization=orgs["nancheng_team"]),
        "dongcheng_expo": make_event(
            title="东城漫博会", kind="expo", organization=orgs["dongcheng"], starts_at=local_time(5, 8)
        ),
        "humen_river": make_event(
            title="虎门护河", kind="river_patrol", organization=humen_team, starts_at=local_time(12, 8)
        ),
        "dgut_training": make_event(
            title="理工学院急救培训", kind="training", organization=orgs["dgut_team"], starts_at=local_time(20, 8)
        ),
        "draft": make_event(title="草稿不公开", status="draft"),
        "cancelled": make_event(title="已取消的活动", status="cancelled"),
        "past": make_event(title="上个月的活动", starts_at=local_time(-30, 8)),
    }
    deaf_position = make_position(events["dongcheng_expo"], skills=[sign_language])
    make_shift(deaf_position, starts_at=local_time(5, 9), capacity=4)
    make_shift(make_position(events["nancheng_tomorrow"]), capacity=6)
    return {"events": events, "sign_language": sign_language, "humen": humen}


def titles(response) -> set[str]:
    text = response.get_data(as_text=True)
    known = [
        "南城明天的社区服务",
        "东城漫博会",
        "虎门护河",
        "理工学院急救培训",
        "草稿不公开",
        "已取消的活动",
        "上个月的活动",
    ]
    return {t for t in known if t in text}


def test_default_list_shows_upcoming_published_events(client, catalogue):
    response = client.get("/events/")
    assert response.status_code == 200
    assert titles(response) == {"南城明天的社区服务", "东城漫博会", "虎门护河", "理工学院急救培训"}


def test_filter_by_date_range(client, catalogue, local_time):
    from app.timeutil import to_local

    on = to_local(local_time(5)).date()
    response = client.get(f"/events/?date_from={on.isoformat()}&date_to={(on + timedelta(days=7)).isoformat()}")
    assert titles(response) == {"东城漫博会", "虎门护河"}
    past = to_local(local_time(-30)).date()
    response = client.get(f"/events/?date_from={past.isoformat()}&date_to={past.isoformat()}")
    assert titles(response) == {"上个月的活动"}


def test_filter_by_town_includes_the_whole_subtree(client, catalogue, orgs):
    assert titles(client.get(f"/events/?town_id={orgs['nancheng'].id}")) == {"南城明天的社区服务"}
    assert titles(client.get(f"/events/?town_id={catalogue['humen'].id}")) == {"虎门护河"}
    assert titles(client.get(f"/events/?town_id={orgs['dongcheng'].id}")) == {"东城漫博会"}


def test_filter_by_kind_and_skill(client, catalogue):
    assert titles(client.get("/events/?kind=training")) == {"理工学院急救培训"}
    assert titles(client.get(f"/events/?skill_id={catalogue['sign_language'].id}")) == {"东城漫博会"}
    assert titles(client.get(f"/events/?kind=community&skill_id={catalogue['sign_language'].id}")) == set()


def test_invalid_filters_do_not_fail(client, catalogue):
    response = client.get("/events/?date_from=not-a-date&town_id=abc&kind=nonsense&page=-3")
    assert response.status_code == 200


def test_open_places_per_event(db, client, catalogue, make_user, now):
    from sqlalchemy import select

    from events.models import Shift
    from events.signup import services as signup

    shift = db.session.scalar(select(Shift).where(Shift.event_id == catalogue["events"]["dongcheng_expo"].id))
    signup.sign_up(shift, make_user(skills=[catalogue["sign_language"]]), now=now)
    db.session.commit()
    text = client.get("/events/").get_data(as_text=True)
    expo = text[text.index("东城漫博会") :]
    assert "Open places: 3" in expo[: expo.index("</article>")]


def test_pagination(client, make_event, local_time):
    for i in range(25):
        make_event(title=f"分页活动{i:02d}", starts_at=local_time(2 + i, 8))
    first = client.get("/events/").get_data(as_text=True)
    second = client.get("/events/?page=2").get_data(as_text=True)
    assert "分页活动00" in first and "分页活动19" in first and "分页活动20" not in first
    assert "分页活动20" in second and "分页活动24" in second and "分页活动00" not in second
    assert "Page 1 of 2" in first


def test_event_list_query_count_does_not_grow_with_events(client, make_event, make_position, make_shift, count_queries):
    def cost() -> int:
        with count_queries() as counted:
            assert client.get("/events/").status_code == 200
        return counted["n"]

    event = make_event()
    make_shift(make_position(event))
    few = cost()
    for _ in range(10):
        event = make_event()
        make_shift(make_position(event))
    assert cost() == few


def test_event_page_loads_in_a_few_queries_whatever_its_size(
    db, make_event, make_position, make_user, make_client, login, local_time, count_queries, now
):
    from events.signup import services as signup

    event = make_event(kind="expo", starts_at=local_time(1, 7), ends_at=local_time(4, 22))
    volunteer = make_user()
    viewer = login(volunteer, target=make_client())

    def cost() -> int:
        with count_queries() as counted:
            response = viewer.get(f"/events/{event.id}?day=all")
        assert response.status_code == 200
        return counted["n"]

    small_position = make_position(event)
    shift = factories.shift(small_position, starts_at=local_time(1, 9), ends_at=local_time(1, 12), capacity=1)
    signup.sign_up(shift, volunteer, now=now)
    db.session.commit()
    small = cost()
    for p in range(20):
        position = make_position(event, name=f"岗位{p}")
        for day in range(1, 4):
            for hour in (8, 13):
                factories.shift(
                    position,
                    starts_at=local_time(day, hour),
                    ends_at=local_time(day, hour + 4),
                    capacity=5,
                    commit=False,
                )
    db.session.commit()
    assert cost() <= small + 1


def test_big_events_open_on_one_day(db, client, make_event, make_position, local_time):
    event = make_event(kind="expo", starts_at=local_time(1, 7), ends_at=local_time(4, 22))
    position = make_position(event, name="引导")
    for day in (1, 2, 3):
        for m in range(60):
            factories.shift(
                position,
                starts_at=local_time(day, 8) + timedelta(minutes=m),
                ends_at=local_time(day, 12),
                capacity=2,
                commit=False,
            )
    db.session.commit()
    from app.timeutil import to_local

    first = to_local(local_time(1, 8)).strftime("%m-%d")
    second = to_local(local_time(2, 8)).strftime("%m-%d")
    text = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert text.count('id="shift-') == 60 and "All days" in text
    assert f"{first} 08:00" in text and f"{second} 08:00" not in text
    assert client.get(f"/events/{event.id}?day=all").get_data(as_text=True).count('id="shift-') == 180
