"""Volunteers' pages, disputes and their answers, the hours audit trail, rounding rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.permissions import Role
from hours.ledger import services as ledger
from hours.ledger.models import HourDispute, RoundingPolicy
from hours.review.verification import submit_entries, verify_entry
from notifications.models import Notification
from notifications.services import render
from tests.support import local


@pytest.fixture
def verified(db, people, service, make_attendance, now):
    """Verified entries: the volunteer's 180 minutes and the other volunteer's 120."""
    _event, shift = service
    entries = []
    for volunteer, end in ((people["volunteer"], 12), (people["other_volunteer"], 11)):
        (entry,) = ledger.record_attendance(
            make_attendance(volunteer, shift, local(2026, 2, 10, 9), local(2026, 2, 10, end)), now=now
        )
        entries.append(entry)
    submit_entries(entries[0].event, by=people["coordinator"], now=now)
    for entry in entries:
        verify_entry(entry, by=people["reviewer"], now=now)
    db.session.commit()
    return entries


def test_a_volunteer_sees_only_their_own_entries(make_client, login, people, verified):
    mine, theirs = verified
    volunteer = login(people["volunteer"], target=make_client())
    page = volunteer.get("/hours/?year=2026").get_data(as_text=True)
    assert f'id="entry-{mine.id}"' in page and f'id="entry-{theirs.id}"' not in page
    assert "3 h 0 min" in page and "Verified" in page
    assert volunteer.get(f"/hours/entries/{mine.id}").status_code == 200
    assert volunteer.get(f"/hours/entries/{theirs.id}").status_code == 403
    assert volunteer.get(f"/hours/entries/{theirs.id}/dispute").status_code == 403
    assert volunteer.post(f"/hours/entries/{theirs.id}/dispute", data={"message": "x"}).status_code == 403
    assert (
        volunteer.post(
            f"/hours/entries/{mine.id}/correct", data={"decision": "correct", "minutes": "600", "reason": "x"}
        ).status_code
        == 403
    )
    assert volunteer.get("/hours/review").status_code == 403
    assert volunteer.get("/hours/disputes").status_code == 403
    assert volunteer.get("/hours/audit").status_code == 403
    assert make_client().get("/hours/").status_code == 302


def test_a_dispute_reaches_the_reviewers_and_the_answer_reaches_the_volunteer(db, make_client, login, people, verified):
    mine, _theirs = verified
    volunteer = login(people["volunteer"], target=make_client())
    empty = volunteer.post(f"/hours/entries/{mine.id}/dispute", data={"message": "  "})
    assert empty.status_code == 422 and "Say what is wrong" in empty.get_data(as_text=True)
    response = volunteer.post(f"/hours/entries/{mine.id}/dispute", data={"message": "我服务到12点半，少记了半小时"})
    assert response.status_code == 302
    again = volunteer.post(f"/hours/entries/{mine.id}/dispute", data={"message": "再问一次"})
    assert again.status_code == 422 and "already have an open dispute" in again.get_data(as_text=True)
    dispute = db.session.scalar(select(HourDispute))
    # Told: the reviewers of the organizer (南城街道), not those above it.
    told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "hours_disputed")).all()
    assert told == [people["reviewer"].id]
    reviewer = login(people["reviewer"], target=make_client())
    listing = reviewer.get("/hours/disputes").get_data(as_text=True)
    assert f'id="dispute-{dispute.id}"' in listing and "少记了半小时" in listing
    city = login(people["city_reviewer"], target=make_client())
    assert f'id="dispute-{dispute.id}"' in city.get("/hours/disputes").get_data(as_text=True)
    outsider = login(people["dongcheng_reviewer"], target=make_client())
    assert f'id="dispute-{dispute.id}"' not in outsider.get("/hours/disputes").get_data(as_text=True)
    assert outsider.get(f"/hours/disputes/{dispute.id}").status_code == 403
    assert outsider.post(f"/hours/disputes/{dispute.id}", data={"answer": "no"}).status_code == 403
    blank = reviewer.post(f"/hours/disputes/{dispute.id}", data={"answer": ""})
    assert blank.status_code == 422
    response = reviewer.post(
        f"/hours/disputes/{dispute.id}", data={"answer": "核实签到表后更正为210分钟", "corrected_minutes": "210"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert dispute.status == "answered" and dispute.correction_entry_id is not None
    correction = dispute.correction_entry_id
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 180  # the correction waits for a reviewer
    assert reviewer.post(f"/hours/entries/{correction}/decide", data={"decision": "verify"}).status_code == 403
    assert city.post(f"/hours/entries/{correction}/decide", data={"decision": "verify"}).status_code == 302
    assert ledger.verified_minutes(people["volunteer"].id, year=2026) == 210
    page = volunteer.get("/hours/?year=2026").get_data(as_text=True)
    assert "核实签到表后更正为210分钟" in page
    assert f'id="entry-{correction}"' in page and f'id="entry-{mine.id}"' in page
    notice = db.session.scalar(
        select(Notification).where(
            Notification.user_id == people["volunteer"].id, Notification.kind == "hours_dispute_answered"
        )
    )
    title, body = render(notice)
    assert title == "Your dispute was answered" and "核实签到表后更正为210分钟" in body
    # Answered once only.
    assert reviewer.post(f"/hours/disputes/{dispute.id}", data={"answer": "again"}).status_code == 409


def test_the_hours_audit_trail_is_filtered_and_limited_to_the_subtree(db, make_client, login, people, verified):
    mine, theirs = verified
    reviewer = login(people["reviewer"], target=make_client())
    page = reviewer.get("/hours/audit").get_data(as_text=True)
    for action in ("hours.record", "hours.submit", "hours.verify"):
        assert f'data-action="{action}"' in page
    assert "status: submitted → verified" in page
    only_verify = reviewer.get(f"/hours/audit?action=hours.verify&entry_id={mine.id}").get_data(as_text=True)
    assert only_verify.count('data-action="hours.verify"') == 1 and 'data-action="hours.submit"' not in only_verify
    by_actor = reviewer.get(f"/hours/audit?actor_mobile={people['coordinator'].mobile}").get_data(as_text=True)
    assert 'data-action="hours.submit"' in by_actor and 'data-action="hours.verify"' not in by_actor
    assert reviewer.get("/hours/audit?entry_id=abc").status_code == 422
    outsider = login(people["dongcheng_reviewer"], target=make_client())
    assert "data-action=" not in outsider.get("/hours/audit").get_data(as_text=True)
    coordinator = login(people["coordinator"], target=make_client())
    assert coordinator.get("/hours/audit").status_code == 403
    logged = db.session.scalars(
        select(AuditLog.action)
        .where(AuditLog.target_id == theirs.id, AuditLog.target_type == "HourEntry")
        .order_by(AuditLog.id)
    ).all()
    assert logged == ["hours.record", "hours.submit", "hours.verify"]


def test_administrators_set_rounding_rules_in_their_subtree(db, orgs, make_user, make_client, login, people):
    admin = make_user(role=Role.ADMIN, role_org=orgs["nancheng"])
    client = login(admin, target=make_client())
    page = client.get("/hours/rounding")
    assert page.status_code == 200 and orgs["dongcheng"].display_name not in page.get_data(as_text=True)
    assert (
        client.post("/hours/rounding", data={"organization_id": orgs["dongcheng"].id, "rule": "down_15"}).status_code
        == 422
    )
    assert (
        client.post(
            "/hours/rounding", data={"organization_id": orgs["nancheng_team"].id, "rule": "sideways"}
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/hours/rounding", data={"organization_id": orgs["nancheng_team"].id, "rule": "nearest_30"}
        ).status_code
        == 302
    )
    assert db.session.get(RoundingPolicy, orgs["nancheng_team"].id).rule == "nearest_30"
    assert login(people["reviewer"], target=make_client()).get("/hours/rounding").status_code == 403


def test_a_correction_on_the_entry_page(db, make_client, login, people, verified):
    mine, _theirs = verified
    coordinator = login(people["coordinator"], target=make_client())
    page = coordinator.get(f"/hours/entries/{mine.id}").get_data(as_text=True)
    assert "Correct these hours" in page
    missing = coordinator.post(f"/hours/entries/{mine.id}/correct", data={"decision": "correct", "reason": "x"})
    assert missing.status_code == 422 and "Enter the corrected total" in missing.get_data(as_text=True)
    no_reason = coordinator.post(f"/hours/entries/{mine.id}/correct", data={"decision": "correct", "minutes": "90"})
    assert no_reason.status_code == 422 and "Give a reason" in no_reason.get_data(as_text=True)
    response = coordinator.post(
        f"/hours/entries/{mine.id}/correct", data={"decision": "correct", "minutes": "90", "reason": "只服务到10:30"}
    )
    assert response.status_code == 302
    page = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert "−1 h 30 min" in page and f'id="history-{mine.id}"' in page
