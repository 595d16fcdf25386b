"""Team quotas: the event coordinator sets them and sees each team's fill; the team's coordinator
fills only their quota, only with their own members."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.errors import Conflict
from app.permissions import Role
from events.models import Assignment, TeamQuota
from events.staffing.quotas import fill_quota


@pytest.fixture
def setup(make_event, make_position, make_shift, local_time):
    event = make_event(title="台博会")
    guide = make_position(event, name="引导")
    morning = make_shift(guide, starts_at=local_time(1, 9), capacity=5)
    afternoon = make_shift(guide, starts_at=local_time(1, 14), capacity=5)
    return event, guide, morning, afternoon


@pytest.fixture
def team(orgs):
    return orgs["dgut_team"]


@pytest.fixture
def team_coordinator(make_user, team):
    return make_user(name="理工队长", organization=team, role=Role.COORDINATOR, role_org=team)


@pytest.fixture
def members(make_user, team):
    return [make_user(name=f"理工队员{n}", organization=team) for n in range(3)]


def set_quota(client, event, position, org, quantity):
    return client.post(
        f"/events/{event.id}/staffing/quotas",
        data={"position_id": position.id, "organization_id": org.id, "quantity": quantity},
    )


def test_event_coordinator_sets_changes_and_removes_a_quota(db, setup, team, coordinator, as_user):
    event, guide, _m, _a = setup
    client = as_user(coordinator)
    assert set_quota(client, event, guide, team, 2).status_code == 302
    quota = db.session.scalar(select(TeamQuota))
    assert (quota.position_id, quota.organization_id, quota.quantity) == (guide.id, team.id, 2)
    assert set_quota(client, event, guide, team, 3).status_code == 302
    db.session.refresh(quota)
    assert quota.quantity == 3 and db.session.query(TeamQuota).count() == 1
    page = client.get(f"/events/{event.id}/staffing/quotas").get_data(as_text=True)
    assert f'id="quota-{quota.id}"' in page and "3 per shift" in page
    assert client.post(f"/events/staffing/quotas/{quota.id}/remove").status_code == 302
    assert db.session.scalar(select(TeamQuota)) is None
    actions = list(
        db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("quota.%")).order_by(AuditLog.id))
    )
    assert actions == ["quota.set", "quota.set", "quota.remove"]


def test_bad_quotas_are_refused_beside_the_field(db, setup, team, coordinator, as_user, make_event, make_position):
    event, guide, _m, _a = setup
    client = as_user(coordinator)
    for quantity, message in ((0, "Enter 1 to 10000."), (6, "more than its largest shift (5 places)")):
        response = set_quota(client, event, guide, team, quantity)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    elsewhere = make_position(make_event())
    assert set_quota(client, event, elsewhere, team, 1).status_code == 422
    assert db.session.scalar(select(TeamQuota)) is None


def test_only_the_event_coordinator_manages_quotas(
    db, setup, team, volunteer, outsider, team_coordinator, make_quota, as_user
):
    event, guide, _m, _a = setup
    quota = make_quota(guide, team, 2)
    for user in (volunteer, outsider, team_coordinator):
        client = as_user(user)
        assert client.get(f"/events/{event.id}/staffing/quotas").status_code == 403
        assert set_quota(client, event, guide, team, 4).status_code == 403
        assert client.post(f"/events/staffing/quotas/{quota.id}/remove").status_code == 403
    db.session.refresh(quota)
    assert quota.quantity == 2


def fill(client, quota, shift, ids):
    return client.post(
        f"/events/staffing/quotas/{quota.id}/shifts/{shift.id}/fill?quota={quota.id}&shift={shift.id}",
        data={"volunteer_ids": ids},
    )


def test_team_coordinator_fills_the_quota_with_own_members_only(
    db, setup, team, team_coordinator, members, volunteer, coordinator, make_quota, as_user, live
):
    event, guide, morning, afternoon = setup
    quota = make_quota(guide, team, 2)
    client = as_user(team_coordinator)
    page = client.get(f"/events/{event.id}/staffing/team?quota={quota.id}&shift={morning.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(f'id="volunteer-{m.id}"' in html for m in members)
    assert f'id="volunteer-{volunteer.id}"' not in html  # not a member of the team

    assert fill(client, quota, morning, [volunteer.id]).status_code == 422
    assert fill(client, quota, morning, [members[0].id, members[1].id]).status_code == 302
    rows = db.session.execute(
        select(Assignment.user_id, Assignment.source, Assignment.quota_organization_id).where(
            Assignment.shift_id == morning.id
        )
    ).all()
    assert sorted(rows) == sorted((m.id, "team", team.id) for m in members[:2])

    response = fill(client, quota, morning, [members[2].id])
    assert response.status_code == 409
    assert "provides 2 volunteers for this shift; 0 places of the quota remain" in response.get_data(as_text=True)
    assert members[2].id not in live(morning)
    assert fill(client, quota, afternoon, [members[2].id]).status_code == 302

    page = client.get(f"/events/{event.id}/staffing/team").get_data(as_text=True)
    assert '<span class="count">2/2</span>' in page and '<span class="count">1/2</span>' in page
    overview = as_user(coordinator).get(f"/events/{event.id}/staffing/quotas").get_data(as_text=True)
    assert f'data-shift="{morning.id}"' in overview
    assert '<span class="count">2/2</span>' in overview and '<span class="count">1/2</span>' in overview
    assert "Filled 3 of 4 places" in overview


def test_team_coordinator_cannot_exceed_in_one_request(
    db, setup, team, team_coordinator, members, make_quota, now, live
):
    _event, guide, morning, _a = setup
    quota = make_quota(guide, team, 2)
    with pytest.raises(Conflict) as caught:
        fill_quota(quota, morning, [m.id for m in members], by=team_coordinator, now=now)
    assert caught.value.code == "quota_exceeded"
    db.session.rollback()
    assert live(morning) == {}


def test_team_page_and_fill_are_for_the_team_coordinator_only(
    db, setup, team, members, volunteer, outsider, coordinator, make_quota, as_user, team_coordinator
):
    event, guide, morning, _a = setup
    quota = make_quota(guide, team, 2)
    for user in (volunteer, outsider, coordinator):
        client = as_user(user)
        assert client.get(f"/events/{event.id}/staffing/team").status_code == 403
        assert fill(client, quota, morning, [members[0].id]).status_code == 403
    client = as_user(team_coordinator)
    assert client.get(f"/events/{event.id}/staffing").status_code == 403
    assert client.get(f"/events/staffing/shifts/{morning.id}").status_code == 403


def test_team_member_refused_by_a_rule_shows_the_reason(
    db, make_event, make_position, make_shift, make_skill, team, team_coordinator, members, make_quota, as_user, live
):
    position = make_position(make_event(), skills=[make_skill("摄影")])
    shift = make_shift(position)
    quota = make_quota(position, team, 3)
    response = fill(as_user(team_coordinator), quota, shift, [members[0].id])
    assert response.status_code == 409
    assert "This position requires skills not on the profile: 摄影." in response.get_data(as_text=True)
    assert live(shift) == {}
