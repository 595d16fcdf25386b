"""Hours earned before a move: they stay with the person, and the reports attribute them as the ledger recorded them.

A report by organizer counts the hours where the event was organized (the ledger's own organization_id, never
rewritten); a report by affiliation counts the volunteers affiliated in the subtree now, with all their hours.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.permissions import Role
from hours.ledger.recording import record_attendance
from hours.ledger.services import verified_minutes
from hours.reports.services import build_report
from hours.review import verification
from tests import factories
from tests.support import local
from volunteers.affiliation.models import AffiliationChange


def test_hours_before_a_move_stay_with_the_person_and_with_the_organizer(
    cast, orgs, make_user, login_as, organization_of, db
):
    volunteer = cast["volunteer"]
    city_coordinator = make_user(organization=orgs["city"], role=Role.COORDINATOR, name="市协调")
    city_reviewer = make_user(organization=orgs["city"], role=Role.REVIEWER, name="市审核")
    start = local(2026, 3, 14, 9)
    event = factories.event(orgs["nancheng"], starts_at=start - timedelta(hours=1))
    shift = factories.shift(factories.position(event), starts_at=start, ends_at=start + timedelta(minutes=120))
    assignment = factories.assignment(shift, volunteer, status="completed", source="self")
    attendance = factories.attendance(assignment, checked_in_at=start, checked_out_at=start + timedelta(minutes=120))
    now = start + timedelta(days=1)
    [entry] = record_attendance(attendance, now=now)
    verification.submit_entries(event, by=city_coordinator, now=now, entry_ids=[entry.id])
    verification.verify_entry(entry, by=city_reviewer, now=now)
    db.session.commit()
    period = (local(2026, 1, 1).date(), local(2026, 12, 31).date())

    me = login_as(volunteer)
    me.post("/me/affiliation", data={"organization_id": str(orgs["dongcheng_team"].id)})
    [pending] = db.session.scalars(select(AffiliationChange)).all()
    assert login_as(cast["dongcheng_reviewer"]).post(f"/admin/affiliation/{pending.id}/approve").status_code == 302
    assert organization_of(volunteer) == orgs["dongcheng_team"].id

    assert verified_minutes(volunteer.id) == 120  # the person's hours went with them
    # by organizer: 南城 organized the event, so the hours stay 南城's
    assert build_report(orgs["nancheng"], period=period, basis="organizer").total_minutes == 120
    assert build_report(orgs["dongcheng"], period=period, basis="organizer").total_minutes == 0
    # by affiliation: the volunteer is 东城's now, with every hour they ever served
    assert build_report(orgs["nancheng"], period=period, basis="affiliation").total_minutes == 0
    assert build_report(orgs["dongcheng"], period=period, basis="affiliation").total_minutes == 120
