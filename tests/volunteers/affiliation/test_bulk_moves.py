"""An administrator moves chosen people within their subtree, all at once, each with a staff_move history row."""

from __future__ import annotations

import pytest

from app.errors import PermissionDenied
from volunteers.affiliation import moves


@pytest.fixture
def nancheng_people(make_user, orgs):
    return [make_user(organization=orgs["nancheng_team"], name=f"南城队员{i}") for i in range(3)]


def _move(client, people, target, note=""):
    return client.post(
        "/admin/affiliation/move",
        data={"volunteer_ids": [str(p.id) for p in people], "to_organization_id": str(target.id), "note": note},
    )


def test_the_list_shows_the_people_of_the_chosen_organization(cast, orgs, nancheng_people, login_as):
    admin = login_as(cast["nancheng_admin"])
    page = admin.get(f"/admin/affiliation/move?organization={orgs['nancheng_team'].id}").get_data(as_text=True)
    assert all(person.name in page for person in nancheng_people)
    assert "东城管理员" not in page
    narrowed = admin.get(f"/admin/affiliation/move?organization={orgs['nancheng'].id}&name=队员1").get_data(
        as_text=True
    )
    assert "南城队员1" in narrowed and "南城队员0" not in narrowed
    # an organization outside the subtree cannot be listed
    assert admin.get(f"/admin/affiliation/move?organization={orgs['dongcheng'].id}").status_code == 404


def test_a_bulk_move_moves_everyone_chosen_and_records_each(
    cast, orgs, nancheng_people, login_as, organization_of, changes_of, audit_actions, db
):
    admin = login_as(cast["nancheng_admin"])
    chosen = nancheng_people[:2]
    done = _move(admin, chosen, orgs["nancheng_branch"], note="支部重组")
    assert done.status_code == 302
    assert "2 people moved." in admin.get(done.location).get_data(as_text=True)
    for person in chosen:
        assert organization_of(person) == orgs["nancheng_branch"].id
        [change] = changes_of(person)
        assert (change.kind, change.status, change.decided_by_id, change.reason) == (
            "staff_move",
            "approved",
            cast["nancheng_admin"].id,
            "支部重组",
        )
    assert organization_of(nancheng_people[2]) == orgs["nancheng_team"].id
    assert audit_actions() == ["affiliation.staff_move", "affiliation.staff_move"]
    profile = login_as(chosen[0]).get("/me").get_data(as_text=True)
    assert "南城街道志愿服务队 → 南城阳光社区团支部" in profile and "Moved by staff" in profile
    notices = login_as(chosen[0]).get("/notifications").get_data(as_text=True)
    assert "An administrator moved you from 南城街道志愿服务队 to 南城阳光社区团支部." in notices


def test_a_target_outside_the_subtree_is_refused_and_nobody_moves(
    cast, orgs, nancheng_people, login_as, organization_of, count_changes, field_error, now, db
):
    admin = login_as(cast["nancheng_admin"])
    refused = _move(admin, nancheng_people, orgs["dongcheng_team"])
    assert refused.status_code == 403
    assert "You may only move people to organizations you administer." in field_error(
        refused.get_data(as_text=True), "to_organization_id"
    )
    assert all(organization_of(p) == orgs["nancheng_team"].id for p in nancheng_people)
    assert count_changes() == 0
    with pytest.raises(PermissionDenied):
        moves.move_volunteers(
            [p.id for p in nancheng_people], orgs["dongcheng_team"].id, by=cast["nancheng_admin"], now=now
        )
    db.session.rollback()
    assert count_changes() == 0


def test_people_outside_the_subtree_are_refused_and_nobody_moves(
    cast, orgs, nancheng_people, make_user, login_as, organization_of, count_changes
):
    stranger = make_user(organization=orgs["dongcheng_team"], name="东城队员")
    refused = _move(login_as(cast["nancheng_admin"]), [nancheng_people[0], stranger], orgs["nancheng_branch"])
    assert refused.status_code == 403
    assert "affiliated inside the organizations you administer" in refused.get_data(as_text=True)
    assert organization_of(nancheng_people[0]) == orgs["nancheng_team"].id
    assert organization_of(stranger) == orgs["dongcheng_team"].id
    assert count_changes() == 0


def test_someone_with_a_pending_change_stops_the_whole_move(
    cast, orgs, nancheng_people, login_as, organization_of, count_changes, field_error
):
    login_as(nancheng_people[0]).post("/me/affiliation", data={"organization_id": str(orgs["dgut_team"].id)})
    assert count_changes() == 1
    refused = _move(login_as(cast["nancheng_admin"]), nancheng_people, orgs["nancheng_branch"])
    assert refused.status_code == 409
    assert "already have a pending change of affiliation (decide or withdraw it first): 南城队员0." in field_error(
        refused.get_data(as_text=True), "volunteer_ids"
    )
    assert all(organization_of(p) == orgs["nancheng_team"].id for p in nancheng_people)
    assert count_changes() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"to_organization_id": "BRANCH"}, "volunteer_ids", "Choose at least one person."),
        ({"volunteer_ids": ["PERSON"], "to_organization_id": ""}, "to_organization_id", "Choose the organization"),
        (
            {"volunteer_ids": ["PERSON"], "to_organization_id": "999999"},
            "to_organization_id",
            "Choose the organization",
        ),
        ({"volunteer_ids": ["x"], "to_organization_id": "BRANCH"}, "volunteer_ids", "could not be coerced"),
        (
            {"volunteer_ids": ["999999"], "to_organization_id": "BRANCH"},
            "volunteer_ids",
            "Choose people from the list.",
        ),
        ({"volunteer_ids": ["PERSON"], "to_organization_id": "TEAM"}, "to_organization_id", "already belongs to"),
    ],
)
def test_bad_input_is_shown_beside_its_field(
    cast, orgs, nancheng_people, login_as, field_error, count_changes, data, field, message
):
    values = {"PERSON": str(nancheng_people[0].id), "BRANCH": str(orgs["nancheng_branch"].id)}
    values["TEAM"] = str(orgs["nancheng_team"].id)
    form = {
        key: ([values.get(v, v) for v in value] if isinstance(value, list) else values.get(value, value))
        for key, value in data.items()
    }
    answer = login_as(cast["nancheng_admin"]).post("/admin/affiliation/move", data={**form, "note": "留着"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert message in field_error(html, field)
    assert "留着" in html
    assert count_changes() == 0


def test_only_administrators_move_people(cast, orgs, nancheng_people, login_as, organization_of):
    for name in ("nancheng_reviewer", "nancheng_coordinator", "volunteer"):
        client = login_as(cast[name])
        assert client.get("/admin/affiliation/move").status_code == 403, name
        assert _move(client, nancheng_people, orgs["nancheng_branch"]).status_code == 403, name
    assert all(organization_of(p) == orgs["nancheng_team"].id for p in nancheng_people)
