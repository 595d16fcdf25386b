"""Recording the ideology evaluation and the committee's verification of eligibility, through the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.timeutil import local_today, utcnow
from hours.membership.decisions import verify_eligibility
from hours.membership.models import EligibilityVerification, IdeologyEvaluation
from tests import factories


def evaluations(db, applicant):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(IdeologyEvaluation)
            .where(IdeologyEvaluation.applicant_id == applicant.id)
            .order_by(IdeologyEvaluation.id)
        )
    )


def verifications(db, applicant):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(EligibilityVerification)
            .where(EligibilityVerification.applicant_id == applicant.id)
            .order_by(EligibilityVerification.id)
        )
    )


def audit_actions(db, action):
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


# ---- the ideology evaluation ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["branch", "reviewer", "admin"])
def test_staff_over_the_affiliation_record_the_evaluation(db, make_applicant, people, login, client, who):
    applicant = make_applicant()
    login(people[who])
    response = client.post(
        f"/hours/membership/applicants/{applicant.id}/evaluation", data={"result": "passed", "note": "表现良好"}
    )
    assert response.status_code == 302
    [evaluation] = evaluations(db, applicant)
    assert evaluation.passed and evaluation.recorded_by_id == people[who].id and evaluation.note == "表现良好"
    assert evaluation.organization_id == applicant.organization_id
    [entry] = audit_actions(db, "membership.evaluate")
    assert entry.actor_id == people[who].id and entry.after == {"applicant_id": applicant.id, "passed": True}


@pytest.mark.parametrize("who", ["outsider", "volunteer"])
def test_evaluation_refused_outside_the_subtree(db, make_applicant, people, login, client, who):
    applicant = make_applicant()
    login(people[who])
    response = client.post(f"/hours/membership/applicants/{applicant.id}/evaluation", data={"result": "passed"})
    assert response.status_code == 403
    assert evaluations(db, applicant) == []


def test_a_failed_evaluation_needs_a_note(db, make_applicant, people, login, client):
    applicant = make_applicant()
    login(people["branch"])
    response = client.post(f"/hours/membership/applicants/{applicant.id}/evaluation", data={"result": "failed"})
    assert response.status_code == 422
    assert "Say why the evaluation was not passed." in response.get_data(as_text=True)
    assert (
        client.post(f"/hours/membership/applicants/{applicant.id}/evaluation", data={"result": "maybe"}).status_code
        == 422
    )
    assert evaluations(db, applicant) == []


def test_nobody_evaluates_themselves(db, make_applicant, people, login, client, orgs):
    from app.permissions import Role

    applicant = make_applicant()
    factories.grant_role(applicant, orgs["nancheng_branch"], Role.COORDINATOR)
    login(applicant)
    response = client.post(f"/hours/membership/applicants/{applicant.id}/evaluation", data={"result": "passed"})
    assert response.status_code == 403
    assert evaluations(db, applicant) == []


def test_non_applicants_are_not_evaluated(db, people, login, client):
    login(people["branch"])
    response = client.post(
        f"/hours/membership/applicants/{people['volunteer'].id}/evaluation", data={"result": "passed"}
    )
    assert response.status_code == 422
    assert "is not a membership applicant" in response.get_data(as_text=True)


# ---- the committee's verification of eligibility ---------------------------------------------


def test_approval_refused_with_what_is_missing(db, make_applicant, make_ready, people, login, client):
    applicant = make_ready(make_applicant(), service_minutes=19 * 60)
    login(people["reviewer"])
    response = client.post(f"/hours/membership/applicants/{applicant.id}/verification", data={"decision": "approved"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Not all conditions are met" in html
    assert "1.0 more verified service hours needed" in html
    assert verifications(db, applicant) == []
    assert audit_actions(db, "membership.verify") == []


def test_service_refuses_approval_naming_each_missing_condition(make_applicant, people):
    from app.errors import ValidationFailed

    applicant = make_applicant(activist_since=local_today(utcnow()) - timedelta(days=10))
    with pytest.raises(ValidationFailed) as refused:
        verify_eligibility(applicant, approved=True, note="", by=people["reviewer"], now=utcnow())
    assert refused.value.code == "conditions_missing"
    assert refused.value.details["missing"] == ["months", "theory", "service", "evaluation"]


def test_approval_when_all_four_hold(db, make_applicant, make_ready, people, login, client, orgs):
    applicant = make_ready(make_applicant())
    login(people["reviewer"])
    response = client.post(
        f"/hours/membership/applicants/{applicant.id}/verification", data={"decision": "approved", "note": "材料齐全"}
    )
    assert response.status_code == 302
    [decision] = verifications(db, applicant)
    assert decision.approved and decision.verified_by_id == people["reviewer"].id
    assert decision.organization_id == orgs["nancheng"].id  # the reviewer's committee
    assert (decision.theory_minutes, decision.service_minutes) == (12 * 45, 20 * 60)
    assert decision.activist_since == applicant.activist_since and decision.months >= 3
    assert decision.evaluation_id is not None
    [entry] = audit_actions(db, "membership.verify")
    assert entry.actor_id == people["reviewer"].id and entry.after["approved"] is True
    assert entry.organization_id == orgs["nancheng"].id
    page = client.get(f"/hours/membership/applicants/{applicant.id}").get_data(as_text=True)
    assert "Eligibility verified by a committee" in page


def test_branch_and_committee_each_record_their_own(
    db, make_applicant, make_ready, people, login, client, orgs, make_client
):
    applicant = make_ready(make_applicant())
    login(people["branch"])
    assert (
        client.post(
            f"/hours/membership/applicants/{applicant.id}/verification", data={"decision": "approved"}
        ).status_code
        == 302
    )
    again = client.post(f"/hours/membership/applicants/{applicant.id}/verification", data={"decision": "approved"})
    assert again.status_code == 409
    committee = login(people["reviewer"], target=make_client())
    assert (
        committee.post(
            f"/hours/membership/applicants/{applicant.id}/verification", data={"decision": "approved"}
        ).status_code
        == 302
    )
    assert [v.organization_id for v in verifications(db, applicant)] == [
        orgs["nancheng_branch"].id,
        orgs["nancheng"].id,
    ]


def test_not_approving_needs_a_reason_and_is_recorded(db, make_applicant, people, login, client):
    applicant = make_applicant()
    login(people["reviewer"])
    url = f"/hours/membership/applicants/{applicant.id}/verification"
    assert client.post(url, data={"decision": "rejected"}).status_code == 422
    assert client.post(url, data={"decision": "rejected", "note": "考评材料待补"}).status_code == 302
    [decision] = verifications(db, applicant)
    assert not decision.approved and decision.note == "考评材料待补"


@pytest.mark.parametrize("who", ["outsider", "volunteer"])
def test_verification_refused_outside_the_subtree(db, make_applicant, make_ready, people, login, client, who):
    applicant = make_ready(make_applicant())
    login(people[who])
    response = client.post(f"/hours/membership/applicants/{applicant.id}/verification", data={"decision": "approved"})
    assert response.status_code == 403
    assert verifications(db, applicant) == []
    assert client.get(f"/hours/membership/applicants/{applicant.id}").status_code == 403


def test_unknown_applicant_is_404(people, login, client):
    login(people["reviewer"])
    assert client.get("/hours/membership/applicants/999999").status_code == 404
