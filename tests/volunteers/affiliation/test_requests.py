"""A volunteer asks to move; the receiving organization's reviewers approve or refuse; the volunteer withdraws."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import Conflict, PermissionDenied, ValidationFailed
from events.models import Credential
from notifications.models import Notification
from volunteers.accounts.models import User
from volunteers.affiliation import services


def _ask(client, org, note=""):
    return client.post("/me/affiliation", data={"organization_id": str(org.id), "note": note})


def test_request_then_approval_moves_the_volunteer_and_keeps_the_history(
    cast, orgs, login_as, organization_of, changes_of, audit_actions, make_credential_type, grant_credential, db
):
    volunteer = cast["volunteer"]
    grant_credential(volunteer, make_credential_type())
    me = login_as(volunteer)
    sent = _ask(me, orgs["dongcheng_team"], note="搬家到东城")
    assert sent.status_code == 302
    page = me.get("/me/affiliation").get_data(as_text=True)
    assert "Waiting for a decision" in page and "东城街道志愿者协会" in page and "搬家到东城" in page
    assert organization_of(volunteer) == orgs["nancheng_team"].id  # nothing moves before the decision

    reviewer = login_as(cast["dongcheng_reviewer"])
    queue = reviewer.get("/admin/affiliation").get_data(as_text=True)
    assert "陈小明" in queue
    [change] = changes_of(volunteer)
    decided = reviewer.post(f"/admin/affiliation/{change.id}/approve", follow_redirects=True)
    assert "陈小明 now belongs to 东城街道志愿者协会." in decided.get_data(as_text=True)

    assert organization_of(volunteer) == orgs["dongcheng_team"].id
    [change] = changes_of(volunteer)
    assert (change.status, change.from_organization_id, change.decided_by_id) == (
        "approved",
        orgs["nancheng_team"].id,
        cast["dongcheng_reviewer"].id,
    )
    assert audit_actions() == ["affiliation.request", "affiliation.approve"]
    trail = login_as(cast["dongcheng_admin"]).get("/admin/audit").get_data(as_text=True)
    assert "Approved a change of affiliation" in trail and "from: 南城街道志愿服务队" in trail
    # the credential is keyed by the person: it moved with them
    assert db.session.scalar(select(Credential.user_id).where(Credential.user_id == volunteer.id)) == volunteer.id
    # the profile shows where they came from, when and by whom
    profile = me.get("/me").get_data(as_text=True)
    assert "Affiliation history" in profile
    assert "南城街道志愿服务队 → 东城街道志愿者协会" in profile and "by 东城审核员" in profile
    [notice] = db.session.scalars(select(Notification).where(Notification.user_id == volunteer.id)).all()
    assert notice.kind == "affiliation_approved" and notice.link == "/me/affiliation"
    # the reviewer's queue is empty again
    assert "Nothing waits for a decision." in reviewer.get("/admin/affiliation").get_data(as_text=True)


def test_refusal_needs_a_reason_keeps_the_volunteer_and_tells_them_why(
    cast, orgs, login_as, organization_of, changes_of, field_error, db
):
    volunteer = cast["volunteer"]
    me = login_as(volunteer)
    _ask(me, orgs["dongcheng_team"])
    [change] = changes_of(volunteer)
    reviewer = login_as(cast["dongcheng_reviewer"])

    blank = reviewer.post(f"/admin/affiliation/{change.id}/refuse", data={"decision_reason": "  "})
    assert blank.status_code == 422
    assert "Say why the change is refused" in field_error(blank.get_data(as_text=True), "decision_reason")
    assert changes_of(volunteer)[0].status == "pending"

    refused = reviewer.post(f"/admin/affiliation/{change.id}/refuse", data={"decision_reason": "本协会名额已满"})
    assert refused.status_code == 302
    assert organization_of(volunteer) == orgs["nancheng_team"].id
    [change] = changes_of(volunteer)
    assert (change.status, change.decision_reason) == ("refused", "本协会名额已满")
    page = me.get("/me/affiliation").get_data(as_text=True)
    assert "Refused" in page and "Reason: 本协会名额已满" in page
    assert "Ask to move to another organization" in page  # free to ask again
    [notice] = db.session.scalars(select(Notification).where(Notification.user_id == volunteer.id)).all()
    assert notice.kind == "affiliation_refused" and notice.params["reason"] == "本协会名额已满"
    # the profile's history lists applied changes only
    assert "Affiliation history" not in me.get("/me").get_data(as_text=True)


def test_the_volunteer_withdraws_a_pending_request(cast, orgs, login_as, changes_of, organization_of):
    volunteer = cast["volunteer"]
    me = login_as(volunteer)
    _ask(me, orgs["dongcheng_team"])
    [change] = changes_of(volunteer)
    other = login_as(cast["dongcheng_reviewer"])
    assert other.post(f"/affiliation/{change.id}/cancel").status_code == 403  # not theirs to withdraw

    done = me.post(f"/affiliation/{change.id}/cancel", follow_redirects=True)
    assert "The request is withdrawn." in done.get_data(as_text=True)
    assert changes_of(volunteer)[0].status == "cancelled"
    assert organization_of(volunteer) == orgs["nancheng_team"].id
    # a withdrawn request can no longer be decided
    late = other.post(f"/admin/affiliation/{change.id}/approve", follow_redirects=True)
    assert "This change is no longer pending: it is Cancelled." in late.get_data(as_text=True)
    assert organization_of(volunteer) == orgs["nancheng_team"].id


def test_one_pending_request_at_a_time(cast, orgs, login_as, changes_of, now, db):
    volunteer = cast["volunteer"]
    me = login_as(volunteer)
    assert _ask(me, orgs["dongcheng_team"]).status_code == 302
    # the page no longer offers the form; a second request sent anyway is refused beside the field
    second = _ask(me, orgs["dgut_team"])
    assert second.status_code == 409
    assert "You already have a pending request" in second.get_data(as_text=True)
    assert len(changes_of(volunteer)) == 1
    with pytest.raises(Conflict):
        services.request_move(volunteer, orgs["dgut_team"].id, now=now)
    db.session.rollback()
    assert len(changes_of(volunteer)) == 1


@pytest.mark.parametrize(
    ("organization_id", "message"),
    [
        ("999999", "Choose the organization from the list."),
        ("", "Choose the organization from the list."),
        ("abc", "Choose the organization from the list."),
    ],
)
def test_a_request_to_an_unknown_organization_is_refused(
    cast, login_as, changes_of, field_error, organization_id, message
):
    me = login_as(cast["volunteer"])
    answer = me.post("/me/affiliation", data={"organization_id": organization_id, "note": "想换"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert message in field_error(html, "organization_id")
    assert "想换" in html  # what was typed is kept
    assert changes_of(cast["volunteer"]) == []


def test_a_request_to_the_own_organization_is_refused(cast, orgs, login_as, changes_of, field_error):
    answer = _ask(login_as(cast["volunteer"]), orgs["nancheng_team"])
    assert answer.status_code == 422
    assert "You already belong to 南城街道志愿服务队." in field_error(answer.get_data(as_text=True), "organization_id")
    assert changes_of(cast["volunteer"]) == []


def test_the_volunteer_cannot_decide_their_own_request(cast, orgs, login_as, changes_of, organization_of, now, db):
    volunteer = cast["volunteer"]
    me = login_as(volunteer)
    _ask(me, orgs["dongcheng_team"])
    [change] = changes_of(volunteer)
    assert me.get(f"/admin/affiliation/{change.id}").status_code == 403
    assert me.post(f"/admin/affiliation/{change.id}/approve").status_code == 403
    assert me.post(f"/admin/affiliation/{change.id}/refuse", data={"decision_reason": "x"}).status_code == 403
    assert me.get("/admin/affiliation").status_code == 403
    with pytest.raises(PermissionDenied):
        services.approve_change(change, by=volunteer, now=now)
    db.session.rollback()
    assert changes_of(volunteer)[0].status == "pending"
    assert organization_of(volunteer) == orgs["nancheng_team"].id


def test_staff_decide_only_moves_into_their_subtree(cast, orgs, login_as, changes_of, organization_of, now, db):
    """The sending side (南城), another town and a coordinator of the receiving side may not decide."""
    volunteer = cast["volunteer"]
    _ask(login_as(volunteer), orgs["dongcheng_team"])
    [change] = changes_of(volunteer)
    for name in ("nancheng_reviewer", "nancheng_admin", "dgut_admin"):
        client = login_as(cast[name])
        assert client.get(f"/admin/affiliation/{change.id}").status_code == 403, name
        assert client.post(f"/admin/affiliation/{change.id}/approve").status_code == 403, name
        assert client.post(f"/admin/affiliation/{change.id}/refuse", data={"decision_reason": "x"}).status_code == 403
        assert "陈小明" not in client.get("/admin/affiliation").get_data(as_text=True), name
    with pytest.raises(PermissionDenied):
        services.refuse_change(change, by=cast["nancheng_admin"], now=now, reason="不行")
    db.session.rollback()
    assert login_as(cast["nancheng_coordinator"]).get("/admin/affiliation").status_code == 403
    assert changes_of(volunteer)[0].status == "pending"
    assert organization_of(volunteer) == orgs["nancheng_team"].id
    # the city's administrator is above every organization: they may
    assert login_as(cast["city_admin"]).get(f"/admin/affiliation/{change.id}").status_code == 200


def test_deciding_twice_is_refused(cast, orgs, login_as, changes_of, organization_of, now, db):
    volunteer = cast["volunteer"]
    _ask(login_as(volunteer), orgs["dongcheng_team"])
    [change] = changes_of(volunteer)
    reviewer = login_as(cast["dongcheng_reviewer"])
    assert reviewer.post(f"/admin/affiliation/{change.id}/approve").status_code == 302
    again = reviewer.post(f"/admin/affiliation/{change.id}/refuse", data={"decision_reason": "改主意了"})
    assert again.status_code == 409
    assert "This change is no longer pending: it is Approved." in again.get_data(as_text=True)
    twice = login_as(cast["dongcheng_admin"]).post(f"/admin/affiliation/{change.id}/approve", follow_redirects=True)
    assert "no longer pending" in twice.get_data(as_text=True)
    [change] = changes_of(volunteer)
    assert (change.status, change.decided_by_id) == ("approved", cast["dongcheng_reviewer"].id)
    assert organization_of(volunteer) == orgs["dongcheng_team"].id
    with pytest.raises(Conflict):
        services.refuse_change(change, by=cast["dongcheng_admin"], now=now, reason="晚了")
    db.session.rollback()


def test_unknown_changes_answer_404(cast, login_as):
    reviewer = login_as(cast["dongcheng_reviewer"])
    assert reviewer.get("/admin/affiliation/999999").status_code == 404
    assert reviewer.post("/admin/affiliation/999999/approve").status_code == 404
    assert login_as(cast["volunteer"]).post("/affiliation/999999/cancel").status_code == 404


def test_pending_requests_are_counted_in_the_navigation(cast, orgs, login_as):
    reviewer = login_as(cast["dongcheng_reviewer"])
    assert "nav-affiliation" not in reviewer.get("/me").get_data(as_text=True)
    _ask(login_as(cast["volunteer"]), orgs["dongcheng_team"])
    page = reviewer.get("/me").get_data(as_text=True)
    assert 'class="nav-affiliation"' in page and "1 waiting" in page
    admin_page = login_as(cast["dongcheng_admin"]).get("/admin/").get_data(as_text=True)
    assert "Affiliation requests" in admin_page and 'class="badge count">1<' in admin_page
    assert "nav-affiliation" not in login_as(cast["nancheng_reviewer"]).get("/me").get_data(as_text=True)


def test_the_profile_form_no_longer_changes_the_organization(cast, orgs, login_as, organization_of, audit_actions):
    volunteer = cast["volunteer"]
    me = login_as(volunteer)
    form = me.get(f"/volunteers/{volunteer.id}/edit").get_data(as_text=True)
    assert 'name="organization_id"' not in form and "Ask to move to another organization" in form
    saved = me.post(
        f"/volunteers/{volunteer.id}/edit",
        data={
            "name": "陈小明",
            "political_status": "共青团员",
            "organization_id": str(orgs["dongcheng_team"].id),
            "emergency_contact_name": "陈大明",
            "emergency_contact_mobile": "13712345678",
        },
    )
    assert saved.status_code == 302
    assert organization_of(volunteer) == orgs["nancheng_team"].id
    # an administrator's edit of the profile does not move the person either
    login_as(cast["nancheng_admin"]).post(
        f"/volunteers/{volunteer.id}/edit",
        data={
            "name": "陈小明",
            "political_status": "共青团员",
            "organization_id": str(orgs["nancheng_branch"].id),
            "emergency_contact_name": "陈大明",
            "emergency_contact_mobile": "13712345678",
        },
    )
    assert organization_of(volunteer) == orgs["nancheng_team"].id
    assert audit_actions() == []


def test_registration_still_picks_the_first_organization(client, make_client, registration_data, orgs, db):
    answer = client.post("/register", data=registration_data(organization_id=str(orgs["dgut_team"].id)))
    assert answer.status_code == 302
    user = db.session.scalar(select(User).where(User.mobile == "13612345678"))
    assert user.organization_id == orgs["dgut_team"].id
    refused = make_client().post("/register", data=registration_data(mobile="13612340000", organization_id="999999"))
    assert refused.status_code == 422


def test_the_services_refuse_an_unknown_target(cast, now, db):
    with pytest.raises(ValidationFailed) as refused:
        services.request_move(cast["volunteer"], 999999, now=now)
    assert refused.value.field == "organization_id"
    db.session.rollback()


def test_a_reviewer_does_not_decide_their_own_move(cast, orgs, login_as, changes_of, organization_of):
    reviewer = cast["dongcheng_reviewer"]  # affiliated with 东城街道 itself, asking to join its association
    client = login_as(reviewer)
    assert client.post("/me/affiliation", data={"organization_id": str(orgs["dongcheng_team"].id)}).status_code == 302
    [change] = changes_of(reviewer)
    assert "东城审核员" not in client.get("/admin/affiliation").get_data(as_text=True)
    assert client.post(f"/admin/affiliation/{change.id}/approve").status_code == 403
    assert organization_of(reviewer) == orgs["dongcheng"].id
    assert login_as(cast["dongcheng_admin"]).post(f"/admin/affiliation/{change.id}/approve").status_code == 302
    assert organization_of(reviewer) == orgs["dongcheng_team"].id


def test_the_pages_speak_chinese_first(cast, orgs, login, make_client):
    volunteer_client = make_client()
    with volunteer_client.session_transaction() as session:
        session["lang"] = "zh"
    login(cast["volunteer"], target=volunteer_client)
    page = volunteer_client.get("/me/affiliation").get_data(as_text=True)
    assert "我的组织关系" in page and "申请转到其他组织" in page
    volunteer_client.post("/me/affiliation", data={"organization_id": str(orgs["dongcheng_team"].id)})
    assert "等待审核" in volunteer_client.get("/me/affiliation").get_data(as_text=True)
