"""The organization tree an administrator keeps: add, rename, move, close, and the history of each change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit import AuditLog
from app.errors import PermissionDenied, ValidationFailed
from events.models import EventStatus, TeamQuota
from tests import factories
from volunteers.accounts.models import User
from volunteers.affiliation.models import AffiliationChange
from volunteers.organizations import services
from volunteers.organizations.models import Organization, RoleGrant


def _fresh(db, org: Organization) -> Organization:
    db.session.expire_all()
    found = db.session.get(Organization, org.id)
    assert found is not None
    return found


def _history(db, org: Organization) -> list[str]:
    return [e.action for e in services.history(_fresh(db, org))]


# ---- services -------------------------------------------------------------------------------


def test_an_admin_adds_a_child_with_its_path_and_history(db, orgs, people, now):
    child = services.create_organization(
        "南城街道第二团支部", "branch", orgs["nancheng"], code="NC-02", by=people["admin"], now=now
    )
    db.session.commit()
    assert child.path == f"{orgs['nancheng'].path}{child.id}/"
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "organization.create")).one()
    assert (entry.actor_id, entry.target_id, entry.after["code"]) == (people["admin"].id, child.id, "NC-02")


@pytest.mark.parametrize(
    "who, parent, kind, code, refusal",
    [
        ("admin", "dongcheng", "team", None, PermissionDenied),  # outside the 南城 subtree
        ("coordinator", "nancheng", "team", None, PermissionDenied),  # not an administrator
        ("admin", "nancheng_team", "branch", None, ValidationFailed),  # nothing below a team
        ("admin", "nancheng", "city", None, ValidationFailed),
        ("admin", "nancheng", "team", "has space", ValidationFailed),
    ],
)
def test_adding_a_child_is_refused(db, orgs, people, now, who, parent, kind, code, refusal):
    before = db.session.scalar(select(func.count()).select_from(Organization))
    with pytest.raises(refusal):
        services.create_organization("新组织", kind, orgs[parent], code=code, by=people[who], now=now)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Organization)) == before


def test_a_name_or_code_is_taken_once(db, orgs, people, now):
    services.create_organization("甲队", "team", orgs["nancheng"], code="T-1", by=people["admin"], now=now)
    with pytest.raises(ValidationFailed) as name:
        services.create_organization("甲队", "team", orgs["nancheng"], by=people["admin"], now=now)
    assert name.value.field == "name"
    with pytest.raises(ValidationFailed) as code:
        services.create_organization("乙队", "team", orgs["nancheng"], code="T-1", by=people["admin"], now=now)
    assert code.value.field == "code"


def test_rename_keeps_the_old_name_in_the_history(db, orgs, people, now):
    services.rename_organization(
        orgs["nancheng_team"],
        name="南城街道青年志愿服务队",
        short_name="南城青志",
        code="NC-T",
        by=people["admin"],
        now=now,
    )
    db.session.commit()
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "organization.rename")).one()
    assert entry.before["name"] == "南城街道志愿服务队" and entry.after["name"] == "南城街道青年志愿服务队"
    assert _fresh(db, orgs["nancheng_team"]).code == "NC-T"


def test_move_carries_the_subtree_and_roles_follow(db, orgs, people, make_user, now):
    city_admin = people["city_admin"]
    sub = services.create_organization(
        "南城阳光社区志愿服务队", "team", orgs["nancheng_branch"], by=city_admin, now=now
    )
    leader = make_user(organization=sub, role="coordinator")
    db.session.commit()
    services.move_organization(orgs["nancheng_branch"], orgs["dongcheng"], by=city_admin, now=now)
    db.session.commit()
    branch, sub = _fresh(db, orgs["nancheng_branch"]), _fresh(db, sub)
    assert branch.parent_id == orgs["dongcheng"].id
    assert branch.path == f"{orgs['dongcheng'].path}{branch.id}/"
    assert sub.path == f"{branch.path}{sub.id}/"
    # the team's coordinator now works inside 东城: 东城's administrator sees them, 南城's no longer does
    assert sub.is_within(_fresh(db, orgs["dongcheng"])) and not sub.is_within(_fresh(db, orgs["nancheng"]))
    assert db.session.get(User, leader.id).organization_id == sub.id
    assert _history(db, branch)[0] == "organization.move"


@pytest.mark.parametrize(
    "who, org, parent, refusal, code",
    [
        ("city_admin", "dongcheng", "nancheng_branch", ValidationFailed, "kind_not_allowed"),
        ("city_admin", "nancheng_branch", "nancheng_branch", ValidationFailed, "own_subtree"),
        ("city_admin", "city", "nancheng", ValidationFailed, "root"),
        ("city_admin", "nancheng_branch", "nancheng", ValidationFailed, "same_parent"),
        ("admin", "nancheng_branch", "dongcheng", PermissionDenied, None),  # 东城 lies outside 南城
        ("dongcheng_admin", "nancheng_branch", "dongcheng", PermissionDenied, None),
    ],
)
def test_moves_that_are_refused_change_nothing(db, orgs, people, now, who, org, parent, refusal, code):
    before = _fresh(db, orgs[org]).path
    with pytest.raises(refusal) as raised:
        services.move_organization(orgs[org], orgs[parent], by=people[who], now=now)
    if code:
        assert raised.value.code == code
    db.session.rollback()
    assert _fresh(db, orgs[org]).path == before


def test_moving_into_its_own_subtree_is_refused(db, orgs, people, now):
    below = services.create_organization(
        "南城阳光社区服务队", "team", orgs["nancheng_branch"], by=people["admin"], now=now
    )
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        services.move_organization(orgs["nancheng_branch"], below, by=people["city_admin"], now=now)
    assert refused.value.code in ("own_subtree", "kind_not_allowed")
    town = services.create_organization("测试镇", "town", orgs["city"], by=people["city_admin"], now=now)
    branch = services.create_organization("测试支部", "branch", town, by=people["city_admin"], now=now)
    with pytest.raises(ValidationFailed) as own:
        services.move_organization(town, branch, by=people["city_admin"], now=now)
    assert own.value.code == "own_subtree"


def test_close_needs_a_place_for_its_members(db, orgs, people, now):
    team = orgs["nancheng_team"]
    with pytest.raises(ValidationFailed) as refused:
        services.close_organization(team, move_to=None, reason="合并", by=people["admin"], now=now)
    assert refused.value.code == "holds_records" and refused.value.field == "move_to"
    db.session.rollback()
    assert _fresh(db, team).closed_at is None


def test_close_moves_members_open_events_and_quotas_in_one_step(
    db, orgs, people, make_user, make_event, make_position, now
):
    team, target = orgs["nancheng_team"], orgs["nancheng_branch"]
    member = people["nancheng_volunteer"]
    leader = make_user(organization=team, role="coordinator")
    coming = make_event(organization=team, status=EventStatus.PUBLISHED.value)
    past = make_event(
        organization=team, starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=3) + timedelta(hours=2)
    )
    position = make_position(coming)
    db.session.add(TeamQuota(position_id=position.id, organization_id=team.id, quantity=3))
    db.session.commit()
    moved = services.close_organization(team, move_to=target, reason="并入社区团支部", by=people["admin"], now=now)
    db.session.commit()
    db.session.expire_all()
    assert moved["members"] == 2 and moved["open_events"] == 1 and moved["team_quotas"] == 1 and moved["roles"] == 1
    assert db.session.get(User, member.id).organization_id == target.id
    history = db.session.scalars(select(AffiliationChange).where(AffiliationChange.volunteer_id == member.id)).one()
    assert (history.from_organization_id, history.to_organization_id, history.status) == (
        team.id,
        target.id,
        "approved",
    )
    assert coming.organization_id == target.id
    assert past.organization_id == team.id  # the history stays where it was held
    assert db.session.scalars(select(TeamQuota.organization_id)).all() == [target.id]
    assert db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == leader.id)).all() == []
    assert _fresh(db, team).is_closed
    assert _history(db, team)[0] == "organization.close"
    # a closed organization is offered nowhere and accepts nothing new
    from volunteers.accounts.services import organization_choices

    assert team.id not in {org_id for org_id, _ in organization_choices()}
    with pytest.raises(ValidationFailed):
        services.create_organization("新队", "team", _fresh(db, team), by=people["city_admin"], now=now)


def test_close_is_refused_with_open_children_and_for_the_root(db, orgs, people, now):
    with pytest.raises(ValidationFailed) as children:
        services.close_organization(
            orgs["nancheng"], move_to=orgs["dongcheng"], reason="x", by=people["city_admin"], now=now
        )
    assert children.value.code == "has_children"
    with pytest.raises(ValidationFailed) as root:
        services.close_organization(orgs["city"], move_to=None, reason="x", by=people["city_admin"], now=now)
    assert root.value.code == "root"
    with pytest.raises(ValidationFailed) as inside:
        services.close_organization(
            orgs["nancheng_team"], move_to=orgs["nancheng_team"], reason="x", by=people["admin"], now=now
        )
    assert inside.value.code == "move_to_invalid"
    with pytest.raises(PermissionDenied):
        services.close_organization(
            orgs["nancheng_team"], move_to=orgs["dongcheng_team"], reason="x", by=people["admin"], now=now
        )


def test_a_team_closing_hands_its_river_segments_to_a_team(db, orgs, people, now):
    segment = factories.segment(
        by=people["city_admin"], now=now, town=orgs["nancheng"], team=orgs["nancheng_team"], chief=people["admin"]
    )
    with pytest.raises(ValidationFailed) as wrong_kind:
        services.close_organization(
            orgs["nancheng_team"], move_to=orgs["nancheng_branch"], reason="合并", by=people["admin"], now=now
        )
    assert wrong_kind.value.code == "move_to_kind"
    db.session.rollback()
    other = services.create_organization("南城第二服务队", "team", orgs["nancheng"], by=people["admin"], now=now)
    services.close_organization(orgs["nancheng_team"], move_to=other, reason="合并", by=people["admin"], now=now)
    db.session.commit()
    db.session.expire_all()
    assert segment.team_id == other.id


# ---- pages ----------------------------------------------------------------------------------


def test_the_tree_page_lists_the_subtree_with_member_counts(login_as, people, orgs):
    client = login_as(people["admin"])
    html = client.get("/admin/organizations").get_data(as_text=True)
    assert f'id="org-{orgs["nancheng_team"].id}"' in html and f'id="org-{orgs["dongcheng"].id}"' not in html
    assert "1 member" in html and "1 members" not in html
    assert client.get("/admin/").get_data(as_text=True).count("/admin/organizations") >= 1


def test_pages_are_refused_outside_the_subtree_and_to_non_admins(login_as, people, orgs):
    assert login_as(people["admin"]).get(f"/admin/organizations/{orgs['dongcheng'].id}").status_code == 403
    assert login_as(people["coordinator"]).get("/admin/organizations").status_code == 403
    volunteer = login_as(people["nancheng_volunteer"])
    assert (
        volunteer.post(f"/admin/organizations/{orgs['nancheng'].id}/rename", data={"rename-name": "x"}).status_code
        == 403
    )


def test_a_bad_child_form_shows_the_error_beside_the_field_and_keeps_the_input(db, login_as, people, orgs):
    client = login_as(people["admin"])
    response = client.post(
        f"/admin/organizations/{orgs['nancheng'].id}/children",
        data={"child-name": "南城新队", "child-kind": "team", "child-code": "bad code!"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="field-child-code"' in html and "letters, digits or hyphens" in html
    assert 'value="南城新队"' in html
    assert db.session.scalar(select(func.count()).where(Organization.name == "南城新队")) == 0


def test_the_move_page_refuses_into_its_own_subtree(db, login_as, people, orgs):
    client = login_as(people["city_admin"])
    town = orgs["nancheng"]
    response = client.post(f"/admin/organizations/{town.id}/move", data={"move-parent_id": orgs["nancheng_branch"].id})
    assert response.status_code == 422
    assert _fresh(db, town).parent_id == orgs["city"].id


def test_closing_through_the_page_moves_the_members(db, login_as, people, orgs):
    client = login_as(people["admin"])
    team, target = orgs["nancheng_team"], orgs["nancheng_branch"]
    refused = client.post(f"/admin/organizations/{team.id}/close", data={"close-reason": "合并"})
    assert refused.status_code == 422 and "Choose where 1 member go" in refused.get_data(as_text=True)
    done = client.post(
        f"/admin/organizations/{team.id}/close", data={"close-reason": "合并", "close-move_to": target.id}
    )
    assert done.status_code == 302
    assert db.session.get(User, people["nancheng_volunteer"].id).organization_id == target.id
    page = client.get(f"/admin/organizations/{team.id}").get_data(as_text=True)
    assert "Closed an organization" in page and "合并" in page
