"""Verification: who may verify what, the coordinator's review, bulk decisions, refusals over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.errors import PermissionDenied
from app.permissions import Role
from hours.ledger import services as ledger
from hours.ledger.models import HourEntry
from hours.review.verification import submit_entries, verify_entry
from notifications.models import Notification
from tests import factories
from tests.support import local


@pytest.fixture
def submitted(db, people, service, make_attendance, now):
    """The volunteer's 180 minutes on the service, recorded and submitted by the coordinator."""
    _event, shift = service
    (entry,) = ledger.record_attendance(
        make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12)), now=now
    )
    submit_entries(entry.event, by=people["coordinator"], now=now)
    db.session.commit()
    return entry


def test_a_reviewer_outside_the_subtree_cannot_verify(db, client, login, people, submitted, now):
    with pytest.raises(PermissionDenied) as refused:
        verify_entry(submitted, by=people["dongcheng_reviewer"], now=now)
    assert refused.value.code == "outside_subtree"
    db.session.rollback()
    login(people["dongcheng_reviewer"])
    assert client.get(f"/hours/review/events/{submitted.event_id}").status_code == 403
    assert client.post(f"/hours/entries/{submitted.id}/decide", data={"decision": "verify"}).status_code == 403
    assert (
        client.post(
            f"/hours/review/events/{submitted.event_id}", data={"decision": "verify", "entry_ids": [submitted.id]}
        ).status_code
        == 403
    )
    assert client.get("/hours/review").status_code == 200
    assert f"event-{submitted.event_id}" not in client.get("/hours/review").get_data(as_text=True)
    assert ledger.entry_status(submitted) == "submitted"
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 0


def test_reviewers_of_the_organizer_and_of_an_ancestor_verify(db, client, login, people, submitted):
    login(people["city_reviewer"])
    page = client.get("/hours/review").get_data(as_text=True)
    assert f"event-{submitted.event_id}" in page
    response = client.post(f"/hours/entries/{submitted.id}/decide", data={"decision": "verify"})
    assert response.status_code == 302
    assert ledger.entry_status(submitted) == "verified"
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 180
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "hours.verify"))
    assert (audit.actor_id, audit.before["status"], audit.after["status"]) == (
        people["city_reviewer"].id,
        "submitted",
        "verified",
    )


def test_nobody_verifies_their_own_hours(db, client, login, make_user, orgs, service, make_attendance, people, now):
    _event, shift = service
    reviewer = people["reviewer"]
    (entry,) = ledger.record_attendance(
        make_attendance(reviewer, shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12)), now=now
    )
    submit_entries(entry.event, by=people["coordinator"], now=now)
    db.session.commit()
    with pytest.raises(PermissionDenied) as refused:
        verify_entry(entry, by=reviewer, now=now)
    assert refused.value.code == "own_or_recorded"
    db.session.rollback()
    login(reviewer)
    assert client.post(f"/hours/entries/{entry.id}/decide", data={"decision": "verify"}).status_code == 403
    page = client.get(f"/hours/review/events/{entry.event_id}").get_data(as_text=True)
    assert f'value="{entry.id}" form="decide-form"' not in page  # no box to tick for their own entry
    assert "Nobody verifies hours they recorded" in page
    assert ledger.entry_status(entry) == "submitted"


def test_nobody_verifies_hours_they_recorded_or_submitted(
    db, client, make_client, login, make_user, orgs, service, make_attendance, people, now
):
    _event, shift = service
    both = make_user(name="孙双职", role=Role.COORDINATOR, role_org=orgs["nancheng"])
    factories.grant_role(both, orgs["nancheng"], Role.REVIEWER)
    # A badge scan by `both` checked the volunteer in and out: `both` recorded it.
    (scanned,) = ledger.record_attendance(
        make_attendance(
            people["volunteer"],
            shift,
            local(2026, 2, 10, 9),
            local(2026, 2, 10, 12),
            checked_in_by_id=both.id,
            checked_out_by_id=both.id,
        ),
        now=now,
    )
    assert scanned.author_id == both.id
    # A kiosk scan that `both` submitted.
    (submitted_by_both,) = ledger.record_attendance(
        make_attendance(people["other_volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 11)), now=now
    )
    submit_entries(scanned.event, by=both, now=now)
    db.session.commit()
    for entry in (scanned, submitted_by_both):
        with pytest.raises(PermissionDenied) as refused:
            verify_entry(entry, by=both, now=now)
        assert refused.value.code == "own_or_recorded"
        db.session.rollback()
    # In bulk, such entries are left for someone else; the rest is decided.
    login(both)
    response = client.post(
        f"/hours/review/events/{scanned.event_id}",
        data={"decision": "verify", "entry_ids": [scanned.id, submitted_by_both.id]},
        follow_redirects=True,
    )
    assert "2 entries were left for another reviewer" in response.get_data(as_text=True)
    assert ledger.entry_status(scanned) == "submitted"
    reviewer = login(people["reviewer"], target=make_client())
    response = reviewer.post(
        f"/hours/review/events/{scanned.event_id}",
        data={"decision": "verify", "entry_ids": [scanned.id, submitted_by_both.id]},
        follow_redirects=True,
    )
    assert "2 entries verified." in response.get_data(as_text=True)
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 180


def test_rejection_needs_a_reason_and_tells_the_volunteer(db, client, login, people, submitted):
    login(people["reviewer"])
    response = client.post(f"/hours/entries/{submitted.id}/decide", data={"decision": "reject", "reason": " "})
    assert response.status_code == 422
    assert "A rejection needs a reason." in response.get_data(as_text=True)
    response = client.post(
        f"/hours/review/events/{submitted.event_id}", data={"decision": "reject", "entry_ids": [submitted.id]}
    )
    assert response.status_code == 422
    assert ledger.entry_status(submitted) == "submitted"
    response = client.post(f"/hours/entries/{submitted.id}/decide", data={"decision": "reject", "reason": "当天未到岗"})
    assert response.status_code == 302
    assert ledger.entry_status(submitted) == "rejected"
    notice = db.session.scalar(select(Notification).where(Notification.user_id == people["volunteer"].id))
    assert notice.kind == "hours_rejected" and notice.params["reason"] == "当天未到岗"
    # Decided entries cannot be decided again.
    response = client.post(f"/hours/entries/{submitted.id}/decide", data={"decision": "verify"})
    assert response.status_code == 409
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 0


def test_coordinator_review_shows_exceptions_first_and_submits(
    db, client, make_client, login, people, make_user, service, make_attendance, now
):
    _event, shift = service
    third = make_user(name="赵离线")
    make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12))
    make_attendance(third, shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12), offline=True)
    make_attendance(people["other_volunteer"], shift, local(2026, 2, 10, 9), status="missing_checkout")
    login(people["volunteer"])
    assert client.get(f"/hours/events/{shift.event_id}").status_code == 403
    assert client.get("/hours/coordinate").status_code == 403
    client = login(people["coordinator"], target=make_client())
    assert f"event-{shift.event_id}" in client.get("/hours/coordinate").get_data(as_text=True)
    page = client.get(f"/hours/events/{shift.event_id}").get_data(as_text=True)  # records the closed attendance
    assert (
        page.index("Missing check-outs") < page.index("Flagged: look before submitting") < page.index("Recorded hours")
    )
    missing = page[page.index('id="missing-checkouts"') : page.index('id="flagged-entries"')]
    assert people["other_volunteer"].name in missing
    assert f'href="/checkin/events/{shift.event_id}/attendance"' in missing
    flagged = page[page.index('id="flagged-entries"') : page.index('id="recorded-entries"')]
    assert third.name in flagged and "Scanned offline" in flagged
    entries = {e.volunteer_id: e for e in db.session.scalars(select(HourEntry))}
    assert set(entries) == {people["volunteer"].id, third.id}
    response = client.post(f"/hours/events/{shift.event_id}/submit", data={"scope": "all"}, follow_redirects=True)
    assert "1 entry submitted for verification." in response.get_data(as_text=True)
    assert ledger.entry_status(entries[people["volunteer"].id]) == "submitted"
    assert ledger.entry_status(entries[third.id]) == "recorded"
    client.post(
        f"/hours/events/{shift.event_id}/submit", data={"scope": "selected", "entry_ids": [entries[third.id].id]}
    )
    assert ledger.entry_status(entries[third.id]) == "submitted"
    assert (
        db.session.scalar(
            select(AuditLog.id).where(AuditLog.action == "hours.submit", AuditLog.actor_id == people["coordinator"].id)
        )
        is not None
    )


def test_coordinator_of_another_organization_cannot_submit(db, client, login, make_user, orgs, submitted):
    outsider = make_user(organization=orgs["dongcheng_team"], role=Role.COORDINATOR, role_org=orgs["dongcheng"])
    login(outsider)
    assert client.get(f"/hours/events/{submitted.event_id}").status_code == 403
    assert client.post(f"/hours/events/{submitted.event_id}/submit", data={"scope": "all"}).status_code == 403
