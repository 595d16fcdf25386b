"""学社衔接: a university hands its graduates over; the receiving side accepts or refuses; the rate per university."""

from __future__ import annotations

import pytest

from app.errors import PermissionDenied, ValidationFailed
from volunteers.affiliation import handover, moves


@pytest.fixture
def graduates(make_user, orgs):
    return [make_user(organization=orgs["dgut_team"], name=f"毕业生{i}") for i in range(4)]


def _hand_over(client, university, people, target, note=""):
    return client.post(
        f"/admin/affiliation/handover/{university.id}",
        data={"volunteer_ids": [str(p.id) for p in people], "to_organization_id": str(target.id), "note": note},
    )


def test_a_hand_over_waits_for_the_receiving_side_marked_as_graduation(
    cast, orgs, graduates, login_as, organization_of, changes_of, audit_actions
):
    university = login_as(cast["dgut_admin"])
    page = university.get(f"/admin/affiliation/handover/{orgs['dgut'].id}").get_data(as_text=True)
    assert all(g.name in page for g in graduates) and "No graduates handed over yet." in page

    sent = _hand_over(university, orgs["dgut"], graduates[:2], orgs["nancheng_branch"], note="回南城工作")
    assert sent.status_code == 302
    assert "2 graduates handed over" in university.get(sent.location).get_data(as_text=True)
    for graduate in graduates[:2]:
        [change] = changes_of(graduate)
        assert (change.kind, change.status, change.requested_by_id) == ("graduation", "pending", cast["dgut_admin"].id)
        assert organization_of(graduate) == orgs["dgut_team"].id
    assert audit_actions() == ["affiliation.hand_over", "affiliation.hand_over"]

    queue = login_as(cast["nancheng_reviewer"]).get("/admin/affiliation?kind=graduation").get_data(as_text=True)
    assert "毕业生0" in queue and "毕业生1" in queue and "Graduate hand-over" in queue
    # the graduate sees it on their own page, without a button to withdraw the university's hand-over
    mine = login_as(graduates[0]).get("/me/affiliation").get_data(as_text=True)
    assert "Graduate hand-over" in mine and "Withdraw the request" not in mine


def test_acceptance_and_refusal_and_the_rate(cast, orgs, graduates, login_as, organization_of, changes_of):
    university = login_as(cast["dgut_admin"])
    _hand_over(university, orgs["dgut"], graduates[:3], orgs["nancheng_branch"])
    _hand_over(university, orgs["dgut"], graduates[3:], orgs["dongcheng_team"])
    nancheng = login_as(cast["nancheng_reviewer"])
    first, second, third = (changes_of(g)[0] for g in graduates[:3])
    assert nancheng.post(f"/admin/affiliation/{first.id}/approve").status_code == 302
    assert nancheng.post(f"/admin/affiliation/{second.id}/approve").status_code == 302
    refused = nancheng.post(f"/admin/affiliation/{third.id}/refuse", data={"decision_reason": "未在本社区居住"})
    assert refused.status_code == 302
    assert organization_of(graduates[0]) == orgs["nancheng_branch"].id
    assert organization_of(graduates[2]) == orgs["dgut_team"].id
    # 东城's hand-over is not 南城's to decide
    fourth = changes_of(graduates[3])[0]
    assert nancheng.post(f"/admin/affiliation/{fourth.id}/approve").status_code == 403

    page = university.get(f"/admin/affiliation/handover/{orgs['dgut'].id}").get_data(as_text=True)
    assert '<strong class="rate-percent">50%</strong>' in page  # 2 accepted of 4 handed over
    assert "below the 85% target" in page
    assert 'class="count-handed-over">4<' in page and 'class="count-pending">1<' in page
    assert 'class="count-refused">1<' in page and "Reason: 未在本社区居住" in page
    assert 'width="50"' in page and 'x1="85"' in page  # the bar and the target line
    [rate] = handover.handover_rates([orgs["dgut"]], year=first.created_at.astimezone(handover.LOCAL_TZ).year)
    assert (rate.handed_over, rate.accepted, rate.refused, rate.pending, rate.percent) == (4, 2, 1, 1, 50)


def test_a_withdrawn_hand_over_is_not_counted(cast, orgs, graduates, login_as, changes_of):
    university = login_as(cast["dgut_admin"])
    _hand_over(university, orgs["dgut"], graduates[:2], orgs["nancheng_branch"])
    first, second = (changes_of(g)[0] for g in graduates[:2])
    assert login_as(cast["nancheng_admin"]).post(f"/affiliation/{first.id}/cancel").status_code == 403
    withdrawn = university.post(f"/affiliation/{second.id}/cancel", follow_redirects=True)
    assert "The hand-over is withdrawn." in withdrawn.get_data(as_text=True)
    assert login_as(cast["nancheng_reviewer"]).post(f"/admin/affiliation/{first.id}/approve").status_code == 302
    page = university.get(f"/admin/affiliation/handover/{orgs['dgut'].id}").get_data(as_text=True)
    assert '<strong class="rate-percent">100%</strong>' in page and "target met" in page


def test_the_city_sees_every_university_and_a_university_its_own(cast, orgs, make_org, login_as):
    other = make_org("东莞城市学院", "university", orgs["city"])
    city = login_as(cast["city_admin"]).get("/admin/affiliation/handover").get_data(as_text=True)
    assert "东莞理工学院" in city and "东莞城市学院" in city and "85%" in city
    own = login_as(cast["dgut_reviewer"]).get("/admin/affiliation/handover").get_data(as_text=True)
    assert "东莞理工学院" in own and "东莞城市学院" not in own
    assert login_as(cast["dgut_reviewer"]).get(f"/admin/affiliation/handover/{other.id}").status_code == 403


def test_a_target_inside_the_university_is_refused(cast, orgs, graduates, login_as, count_changes, field_error):
    answer = _hand_over(login_as(cast["dgut_admin"]), orgs["dgut"], graduates, orgs["dgut_team"], note="留校")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "outside 东莞理工学院" in field_error(html, "to_organization_id") and "留校" in html
    assert count_changes() == 0


def test_only_the_university_s_administrators_hand_over_its_graduates(
    cast, orgs, graduates, make_user, login_as, count_changes, now, db
):
    # a reviewer sees the figures but cannot hand over; a town's administrator sees nothing of the university
    reviewer = login_as(cast["dgut_reviewer"])
    page = reviewer.get(f"/admin/affiliation/handover/{orgs['dgut'].id}").get_data(as_text=True)
    assert "Hand over graduates" not in page
    assert _hand_over(reviewer, orgs["dgut"], graduates, orgs["nancheng_branch"]).status_code == 403
    town = login_as(cast["nancheng_admin"])
    assert town.get(f"/admin/affiliation/handover/{orgs['dgut'].id}").status_code == 403
    assert _hand_over(town, orgs["dgut"], graduates, orgs["nancheng_branch"]).status_code == 403
    # a town is not a university
    city = login_as(cast["city_admin"])
    assert city.get(f"/admin/affiliation/handover/{orgs['nancheng'].id}").status_code == 403
    assert login_as(cast["volunteer"]).get("/admin/affiliation/handover").status_code == 403
    # people outside the university cannot be handed over by it
    outsider = make_user(organization=orgs["nancheng_team"], name="南城人")
    assert _hand_over(city, orgs["dgut"], [outsider], orgs["dongcheng_team"]).status_code == 403
    with pytest.raises(PermissionDenied):
        moves.hand_over_graduates(
            orgs["dgut"], [graduates[0].id], orgs["nancheng_branch"].id, by=cast["nancheng_admin"], now=now
        )
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        moves.hand_over_graduates(orgs["dgut"], [graduates[0].id], 999999, by=cast["dgut_admin"], now=now)
    db.session.rollback()
    assert count_changes() == 0
    assert city.get("/admin/affiliation/handover/999999").status_code == 404


def test_a_graduate_with_a_pending_request_is_not_handed_over(cast, orgs, graduates, login_as, count_changes):
    login_as(graduates[0]).post("/me/affiliation", data={"organization_id": str(orgs["dongcheng_team"].id)})
    answer = _hand_over(login_as(cast["dgut_admin"]), orgs["dgut"], graduates[:2], orgs["nancheng_branch"])
    assert answer.status_code == 409
    assert "毕业生0" in answer.get_data(as_text=True)
    assert count_changes() == 1


def test_the_target_is_met_only_at_85_percent_exactly(orgs):
    rate = handover.HandoverRate(university=orgs["dgut"], accepted=11, refused=2)  # 84.6 %
    assert rate.percent == 85 and not rate.meets_target
    assert handover.HandoverRate(university=orgs["dgut"], accepted=17, pending=3).meets_target  # 85 %
    assert handover.HandoverRate(university=orgs["dgut"]).percent is None
