"""Volunteer search on the shift panel: by name, mobile, skill and team, within the coordinator's scope."""

from __future__ import annotations

import pytest

from events.staffing.services import search_volunteers


@pytest.fixture
def people(make_user, make_skill, orgs):
    english, first_aid = make_skill("英语", "language"), make_skill("急救")
    return {
        "zhang": make_user(name="张晓华", mobile="13912345678", skills=[english]),
        "li": make_user(name="李明", mobile="13687654321", organization=orgs["nancheng_branch"], skills=[first_aid]),
        "far": make_user(
            name="张晓丰", mobile="13912340000", organization=orgs["dongcheng_team"], skills=[english, first_aid]
        ),
        "english": english,
        "first_aid": first_aid,
    }


def found(client, shift, query: str) -> str:
    response = client.get(f"/events/staffing/shifts/{shift.id}?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_search_by_name_mobile_skill_and_team(make_shift, coordinator, people, orgs, as_user):
    shift = make_shift()
    client = as_user(coordinator)
    zhang, li, far = (f'id="volunteer-{people[k].id}"' for k in ("zhang", "li", "far"))

    html = found(client, shift, "q=张晓")
    assert zhang in html and li not in html and far not in html
    html = found(client, shift, "q=1391234")
    assert zhang in html and far not in html
    html = found(client, shift, f"skill={people['first_aid'].id}")
    assert li in html and zhang not in html and far not in html
    html = found(client, shift, f"organization={orgs['nancheng_branch'].id}")
    assert li in html and zhang not in html
    html = found(client, shift, f"organization={orgs['nancheng'].id}&skill={people['english'].id}")
    assert zhang in html and li not in html and far not in html


def test_search_never_shows_volunteers_outside_the_scope(make_shift, coordinator, people, orgs, as_user):
    shift = make_shift()
    client = as_user(coordinator)
    far = f'id="volunteer-{people["far"].id}"'
    assert far not in found(client, shift, "q=13912340000")
    assert far not in found(client, shift, "q=张晓丰")
    response = client.get(f"/events/staffing/shifts/{shift.id}?organization={orgs['dongcheng_team'].id}")
    assert response.status_code == 200 and far not in response.get_data(as_text=True)
    assert "Not a valid choice" in response.get_data(as_text=True)
    ids = {u.id for u in search_volunteers(coordinator, text="张晓").items}
    assert ids == {people["zhang"].id}


def test_a_city_coordinator_sees_every_town(make_event, make_shift, make_position, make_user, people, orgs, as_user):
    city_coordinator = make_user(organization=orgs["city"], role="coordinator", role_org=orgs["city"])
    shift = make_shift(make_position(make_event(organization=orgs["city"])))
    html = found(as_user(city_coordinator), shift, "q=张晓")
    assert f'id="volunteer-{people["zhang"].id}"' in html and f'id="volunteer-{people["far"].id}"' in html


def test_search_is_paginated(db, make_user, coordinator, make_shift, as_user):
    for n in range(5):
        make_user(name=f"分页{n}")
    first, second = (
        search_volunteers(coordinator, text="分页", per_page=3),
        search_volunteers(coordinator, text="分页", page=2, per_page=3),
    )
    assert (first.total, len(first.items), len(second.items)) == (5, 3, 2)
    assert not {u.id for u in first.items} & {u.id for u in second.items}
    shift = make_shift()
    html = found(as_user(coordinator), shift, "q=分页")
    assert "5 volunteers found" in html


def test_search_treats_wildcards_literally(make_shift, coordinator, people, as_user):
    html = found(as_user(coordinator), make_shift(), "q=%25")
    assert "No volunteers match." in html
    assert found(as_user(coordinator), make_shift(), "q=" + "x" * 51).count('class="error"') >= 1
