"""Requests sent at the same moment: a double-submitted move request gives one row; two deciders give one decision."""

from __future__ import annotations

import pytest

from app.errors import Conflict
from tests.parallel import BACKENDS, pool_for, send_together
from volunteers.affiliation.models import AffiliationChange
from volunteers.affiliation.services import add_pending

THREADS = 6


@pytest.fixture
def app_overrides():
    return pool_for(THREADS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_requests_make_one_pending_row(backend, cast, orgs, login, make_client, changes_of):
    volunteer = cast["volunteer"]
    clients = [login(volunteer, target=make_client()) for _ in range(THREADS)]
    targets = [str(orgs["dongcheng_team"].id), str(orgs["dgut_team"].id)]  # read here: the threads have no session
    answers = send_together(
        [
            lambda c=c, t=targets[i % 2]: c.post("/me/affiliation", data={"organization_id": t})
            for i, c in enumerate(clients)
        ]
    )
    assert not [a for a in answers if isinstance(a, Exception)], answers
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [302] + [409] * (THREADS - 1), statuses
    [change] = changes_of(volunteer)
    assert change.status == "pending"


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_decisions_make_one(backend, cast, orgs, login, make_client, changes_of, organization_of):
    volunteer = cast["volunteer"]
    login(volunteer, target=make_client()).post(
        "/me/affiliation", data={"organization_id": str(orgs["dongcheng_team"].id)}
    )
    [change] = changes_of(volunteer)
    approve, refuse = f"/admin/affiliation/{change.id}/approve", f"/admin/affiliation/{change.id}/refuse"
    approvers = [login(cast["dongcheng_reviewer"], target=make_client()) for _ in range(THREADS // 2)]
    refusers = [login(cast["dongcheng_admin"], target=make_client()) for _ in range(THREADS // 2)]
    answers = send_together(
        [lambda c=c: c.post(approve) for c in approvers]
        + [lambda c=c: c.post(refuse, data={"decision_reason": "名额已满"}) for c in refusers]
    )
    assert not [a for a in answers if isinstance(a, Exception)], answers
    [decided] = changes_of(volunteer)
    assert decided.status in {"approved", "refused"}
    expected = orgs["dongcheng_team"].id if decided.status == "approved" else orgs["nancheng_team"].id
    assert organization_of(volunteer) == expected
    # exactly one request succeeded: a redirect to the queue; the others were told it was decided already
    succeeded = [a for a in answers if a.status_code == 302 and a.location.endswith("/admin/affiliation")]
    assert len(succeeded) == 1, [(a.status_code, a.location) for a in answers]


def test_the_database_holds_one_pending_change_per_volunteer(cast, orgs, now, db, changes_of):
    """Without the service's check, the partial unique index still refuses a second pending row."""
    volunteer = cast["volunteer"]

    def pending(to):
        return AffiliationChange(
            volunteer=volunteer,
            from_organization_id=volunteer.organization_id,
            to_organization=to,
            kind="request",
            status="pending",
            created_at=now,
        )

    add_pending(pending(orgs["dongcheng_team"]))
    with pytest.raises(Conflict):
        add_pending(pending(orgs["dgut_team"]))
    db.session.commit()
    assert [c.to_organization_id for c in changes_of(volunteer)] == [orgs["dongcheng_team"].id]
