"""Role administration: who may grant and revoke where, duplicates, the roles page, CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit import AuditLog
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.permissions import Role
from app.timeutil import utcnow
from volunteers.accounts import roles
from volunteers.organizations.models import RoleGrant


def _grants(db, **where):
    db.session.expire_all()
    query = select(RoleGrant)
    for key, value in where.items():
        query = query.where(getattr(RoleGrant, key) == value)
    return db.session.scalars(query).all()


def _count(db, model):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# ---- services -------------------------------------------------------------------------------


def test_grant_role_records_who_and_when(people, orgs, db):
    admin, person = people["admin"], people["nancheng_volunteer"]
    now = utcnow()
    grant = roles.grant_role(person, orgs["nancheng_team"], "coordinator", by=admin, now=now)
    db.session.commit()
    assert (grant.user_id, grant.organization_id, grant.role, grant.granted_by_id) == (
        person.id,
        orgs["nancheng_team"].id,
        "coordinator",
        admin.id,
    )
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "role.grant")).one()
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.organization_id) == (
        admin.id,
        "RoleGrant",
        grant.id,
        orgs["nancheng_team"].id,
    )
    assert entry.after["user_id"] == person.id and entry.after["role"] == "coordinator"


@pytest.mark.parametrize(
    "granter, org",
    [
        ("admin", "city"),
        ("admin", "dongcheng"),
        ("admin", "dongcheng_team"),
        ("admin", "dgut_team"),
        ("reviewer", "nancheng"),
        ("coordinator", "nancheng_team"),
        ("nancheng_volunteer", "nancheng_team"),
        ("dongcheng_admin", "nancheng"),
    ],
)
def test_grant_outside_the_granters_administered_subtree_is_refused(people, orgs, db, granter, org):
    before = (_count(db, RoleGrant), _count(db, AuditLog))
    with pytest.raises(PermissionDenied):
        roles.grant_role(people["nancheng_volunteer2"], orgs[org], "reviewer", by=people[granter], now=utcnow())
    db.session.rollback()
    assert (_count(db, RoleGrant), _count(db, AuditLog)) == before


def test_duplicate_and_covered_grants_are_refused(people, orgs, db):
    admin, person = people["admin"], people["nancheng_volunteer"]
    roles.grant_role(person, orgs["nancheng"], "reviewer", by=admin, now=utcnow())
    db.session.commit()
    with pytest.raises(Conflict) as duplicate:
        roles.grant_role(person, orgs["nancheng"], "reviewer", by=admin, now=utcnow())
    assert duplicate.value.code == "duplicate_grant"
    with pytest.raises(Conflict) as covered:
        roles.grant_role(person, orgs["nancheng_team"], "reviewer", by=admin, now=utcnow())
    assert covered.value.code == "covered_by_grant"
    db.session.rollback()
    # a different role at the same place is another grant
    roles.grant_role(person, orgs["nancheng"], "coordinator", by=admin, now=utcnow())
    db.session.commit()
    assert sorted(g.role for g in _grants(db, user_id=person.id)) == ["coordinator", "reviewer"]


def test_unknown_role_is_refused(people, orgs, db):
    with pytest.raises(ValidationFailed):
        roles.grant_role(people["nancheng_volunteer"], orgs["nancheng"], "superuser", by=people["admin"], now=utcnow())


def test_revoke_role_is_audited_and_limited_to_the_subtree(people, orgs, db):
    admin = people["admin"]
    grant = _grants(db, user_id=people["coordinator"].id)[0]
    grant_id = grant.id
    with pytest.raises(PermissionDenied):
        roles.revoke_role(grant, by=people["dongcheng_admin"], now=utcnow())
    with pytest.raises(PermissionDenied):
        roles.revoke_role(grant, by=people["reviewer"], now=utcnow())
    roles.revoke_role(grant, by=admin, now=utcnow())
    db.session.commit()
    assert _grants(db, id=grant_id) == []
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "role.revoke")).one()
    assert (entry.actor_id, entry.target_id) == (admin.id, grant_id)
    assert entry.before["user_id"] == people["coordinator"].id and entry.before["role"] == "coordinator"


def test_an_administrator_cannot_revoke_their_own_admin_role(people, db):
    grant = _grants(db, user_id=people["admin"].id)[0]
    with pytest.raises(Conflict):
        roles.revoke_role(grant, by=people["admin"], now=utcnow())
    # the city administrator above may
    roles.revoke_role(grant, by=people["city_admin"], now=utcnow())
    db.session.commit()
    assert _grants(db, user_id=people["admin"].id) == []


# ---- pages ----------------------------------------------------------------------------------


def test_admin_start_page_links_to_roles_and_audit(people, login_as):
    html = login_as(people["admin"]).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/roles"' in html and 'href="/admin/audit"' in html


@pytest.mark.parametrize("who", ["nancheng_volunteer", "coordinator", "reviewer"])
def test_non_administrators_cannot_use_the_role_pages(people, login_as, db, who):
    client = login_as(people[who])
    grant = _grants(db, user_id=people["coordinator"].id)[0]
    before = _count(db, RoleGrant)
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/roles").status_code == 403
    assert client.get("/admin/audit").status_code == 403
    response = client.post(
        "/admin/roles",
        data={
            "person": people["nancheng_volunteer2"].mobile,
            "organization_id": grant.organization_id,
            "role": "reviewer",
        },
    )
    assert response.status_code == 403
    assert client.post(f"/admin/roles/{grant.id}/revoke").status_code == 403
    assert _count(db, RoleGrant) == before


def test_roles_page_lists_only_grants_inside_the_subtree(people, login_as):
    html = login_as(people["admin"]).get("/admin/roles").get_data(as_text=True)
    for inside in ("coordinator", "reviewer", "admin"):
        assert people[inside].name in html
    assert people["dongcheng_admin"].name not in html
    assert people["city_admin"].name not in html
    city_html = login_as(people["city_admin"]).get("/admin/roles").get_data(as_text=True)
    assert people["dongcheng_admin"].name in city_html and people["coordinator"].name in city_html


def test_roles_page_organization_picker_is_limited_to_the_subtree(people, orgs, login_as):
    html = login_as(people["admin"]).get("/admin/roles").get_data(as_text=True)
    assert 'class="org-filter"' in html
    grant_form = html.split('id="field-organization_id"')[1].split("</div>")[0]
    assert f'value="{orgs["nancheng_team"].id}"' in grant_form
    for outside in ("city", "dongcheng", "dongcheng_team", "dgut"):
        assert f'value="{orgs[outside].id}"' not in grant_form


def test_roles_page_filters_by_role_and_organization(people, orgs, login_as, make_user):
    team_coordinator = make_user(organization=orgs["nancheng_team"], role=Role.COORDINATOR, name="队长甲")
    client = login_as(people["city_admin"])
    by_role = client.get("/admin/roles", query_string={"role_name": "reviewer"}).get_data(as_text=True)
    assert people["reviewer"].name in by_role
    assert people["coordinator"].name not in by_role and people["dongcheng_admin"].name not in by_role
    by_org = client.get("/admin/roles", query_string={"organization": orgs["nancheng_team"].id}).get_data(as_text=True)
    assert team_coordinator.name in by_org and people["coordinator"].name not in by_org
    town = client.get("/admin/roles", query_string={"organization": orgs["nancheng"].id}).get_data(as_text=True)
    assert team_coordinator.name in town and people["coordinator"].name in town  # and below
    assert people["dongcheng_admin"].name not in town
    assert client.get("/admin/roles", query_string={"organization": "abc"}).status_code == 422
    assert client.get("/admin/roles", query_string={"role_name": "superuser"}).status_code == 422


@pytest.mark.parametrize("find_by", ["mobile", "volunteer_number"])
def test_admin_grants_a_role_on_the_page(people, orgs, login_as, db, find_by):
    person = people["nancheng_volunteer2"]
    client = login_as(people["admin"])
    response = client.post(
        "/admin/roles",
        data={"person": getattr(person, find_by), "organization_id": orgs["nancheng_branch"].id, "role": "coordinator"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/roles"
    page = client.get("/admin/roles").get_data(as_text=True)
    assert f"{person.name} is now Coordinator at" in page
    [grant] = _grants(db, user_id=person.id)
    assert (grant.organization_id, grant.role, grant.granted_by_id) == (
        orgs["nancheng_branch"].id,
        "coordinator",
        people["admin"].id,
    )
    # the new coordinator now sees the branch's volunteers, and nothing more
    coordinator = login_as(person)
    assert coordinator.get(f"/volunteers/{people['nancheng_volunteer'].id}").status_code == 403
    assert coordinator.get(f"/volunteers/{person.id}").status_code == 200


@pytest.mark.parametrize(
    "form, field, message, status",
    [
        ({"person": "13999999999"}, "person", "No account has this mobile or volunteer number.", 422),
        ({"person": "DG20269999999"}, "person", "No account has this mobile or volunteer number.", 422),
        ({"person": ""}, "person", "This field is required.", 422),
        ({"role": "superuser"}, "role", "Not a valid choice", 422),
        ({"organization_id": "abc"}, "organization_id", "", 422),
        ({"organization_id": "999999"}, "organization_id", "Not a valid choice", 422),
        ({"person": "@reviewer", "role": "reviewer"}, "role", "is already Reviewer at", 409),
        (
            {"person": "@reviewer", "role": "reviewer", "organization_id": "@nancheng_team"},
            "role",
            "which includes this organization",
            409,
        ),
    ],
)
def test_bad_grants_are_refused_beside_the_field(people, orgs, login_as, db, field_error, form, field, message, status):
    data = {
        "person": people["nancheng_volunteer2"].mobile,
        "organization_id": orgs["nancheng"].id,
        "role": "coordinator",
    }
    data.update(form)
    if str(data["person"]).startswith("@"):
        data["person"] = people[data["person"][1:]].mobile
    if str(data["organization_id"]).startswith("@"):
        data["organization_id"] = orgs[data["organization_id"][1:]].id
    before = (_count(db, RoleGrant), _count(db, AuditLog))
    response = login_as(people["admin"]).post("/admin/roles", data=data)
    assert response.status_code == status
    assert message in field_error(response.get_data(as_text=True), field)
    assert (_count(db, RoleGrant), _count(db, AuditLog)) == before


@pytest.mark.parametrize(
    "granter, org",
    [
        ("admin", "city"),
        ("admin", "dongcheng"),
        ("admin", "dongcheng_team"),
        ("dongcheng_admin", "nancheng_team"),
    ],
)
def test_admin_cannot_grant_above_or_beside_their_subtree_on_the_page(people, orgs, login_as, db, granter, org):
    before = (_count(db, RoleGrant), _count(db, AuditLog))
    response = login_as(people[granter]).post(
        "/admin/roles",
        data={"person": people["nancheng_volunteer2"].mobile, "organization_id": orgs[org].id, "role": "admin"},
    )
    assert response.status_code == 403
    assert (_count(db, RoleGrant), _count(db, AuditLog)) == before


def test_admin_revokes_a_role_on_the_page(people, login_as, db):
    coordinator = people["coordinator"]
    grant = _grants(db, user_id=coordinator.id)[0]
    client = login_as(people["admin"])
    html = client.get("/admin/roles").get_data(as_text=True)
    assert f'action="/admin/roles/{grant.id}/revoke"' in html
    response = client.post(f"/admin/roles/{grant.id}/revoke")
    assert response.status_code == 302
    assert _grants(db, user_id=coordinator.id) == []
    assert f"{coordinator.name} is no longer Coordinator" in client.get("/admin/roles").get_data(as_text=True)
    # the former coordinator lost access to the town's volunteers
    assert login_as(coordinator).get(f"/volunteers/{people['nancheng_volunteer'].id}").status_code == 403
    assert client.post(f"/admin/roles/{grant.id}/revoke").status_code == 404


def test_admin_cannot_revoke_outside_their_subtree_or_their_own_admin_role(people, login_as, db):
    client = login_as(people["admin"])
    outside = _grants(db, user_id=people["dongcheng_admin"].id)[0]
    above = _grants(db, user_id=people["city_admin"].id)[0]
    own = _grants(db, user_id=people["admin"].id)[0]
    before = len(_grants(db))
    assert client.post(f"/admin/roles/{outside.id}/revoke").status_code == 403
    assert client.post(f"/admin/roles/{above.id}/revoke").status_code == 403
    assert f'action="/admin/roles/{own.id}/revoke"' not in client.get("/admin/roles").get_data(as_text=True)
    refused = client.post(f"/admin/roles/{own.id}/revoke", headers={"Referer": "http://localhost/admin/roles"})
    assert refused.status_code == 302
    assert "You cannot revoke your own administrator role" in client.get("/admin/roles").get_data(as_text=True)
    assert len(_grants(db)) == before


def test_reviewer_of_one_town_cannot_act_in_another(people, orgs, login_as, make_user):
    dongcheng_reviewer = make_user(organization=orgs["dongcheng"], role=Role.REVIEWER)
    client = login_as(dongcheng_reviewer)
    assert client.get(f"/volunteers/{people['nancheng_volunteer'].id}").status_code == 403
    assert client.get(f"/volunteers/{people['dongcheng_volunteer'].id}").status_code == 200
    assert (
        client.post(
            "/admin/roles",
            data={
                "person": people["nancheng_volunteer"].mobile,
                "organization_id": orgs["nancheng"].id,
                "role": "reviewer",
            },
        ).status_code
        == 403
    )


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_role_forms_need_the_csrf_token(people, orgs, login_as, db, app_overrides, make_client):
    from tests.support import PASSWORD

    client = make_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert (
        client.post(
            "/login", data={"mobile": people["admin"].mobile, "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    grant = _grants(db, user_id=people["coordinator"].id)[0]
    before = len(_grants(db))
    assert client.post(f"/admin/roles/{grant.id}/revoke").status_code == 400
    assert (
        client.post(
            "/admin/roles",
            data={
                "person": people["nancheng_volunteer"].mobile,
                "organization_id": orgs["nancheng"].id,
                "role": "reviewer",
            },
        ).status_code
        == 400
    )
    assert len(_grants(db)) == before
    html = client.get("/admin/roles").get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post(f"/admin/roles/{grant.id}/revoke", data={"csrf_token": token}).status_code == 302
    assert len(_grants(db)) == before - 1


def test_names_with_markup_are_escaped_on_the_admin_pages(make_user, orgs, people, login_as):
    markup = "<img src=x onerror=alert(1)>"
    person = make_user(organization=orgs["nancheng_team"], role=Role.REVIEWER, name=markup)
    client = login_as(people["admin"])
    client.post(f"/volunteers/{person.id}/id-number")
    for path in ("/admin/roles", "/admin/audit"):
        html = client.get(path).get_data(as_text=True)
        assert markup not in html, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, path
