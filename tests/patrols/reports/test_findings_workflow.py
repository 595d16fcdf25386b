"""Findings move reported → forwarded → resolved, each step with who, when, to whom and a note, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.errors import Conflict, PermissionDenied, ValidationFailed
from patrols.reports import services as reports
from patrols.reports.models import PatrolFinding


@pytest.fixture
def finding(db, people, patrol, now):
    """A rubbish finding reported by the river chief an hour ago."""
    report = reports.file_report(
        patrol,
        summary="",
        uploads=[],
        by=people["chief"],
        now=now - timedelta(hours=1),
        finding=reports.FindingData("rubbish", "岸边堆放建筑垃圾", 23.0203, 113.7561),
    )
    db.session.commit()
    return report.findings[0]


def _audit(db, action):
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()


def test_forward_then_resolve_over_http_stamps_who_and_when(db, client, make_client, login, people, finding):
    login(people["chief"])
    url = f"/patrols/findings/{finding.id}"
    forwarded = client.post(
        f"{url}/forward",
        data={
            f"forward-{finding.id}-forwarded_to": "南城街道河长办",
            f"forward-{finding.id}-note": "已电话告知值班人员",
        },
    )
    assert forwarded.status_code == 302
    db.session.expire_all()
    finding = db.session.get(PatrolFinding, finding.id)
    assert (finding.status, finding.forwarded_by_id, finding.forwarded_to, finding.forward_note) == (
        "forwarded",
        people["chief"].id,
        "南城街道河长办",
        "已电话告知值班人员",
    )
    assert finding.forwarded_at is not None and finding.resolved_at is None
    client = login(people["town_coordinator"], target=make_client())
    resolved = client.post(f"{url}/resolve", data={f"resolve-{finding.id}-note": "街道环卫已清运"})
    assert resolved.status_code == 302
    db.session.expire_all()
    finding = db.session.get(PatrolFinding, finding.id)
    assert (finding.status, finding.resolved_by_id, finding.resolution_note) == (
        "resolved",
        people["town_coordinator"].id,
        "街道环卫已清运",
    )
    assert finding.forwarded_at <= finding.resolved_at
    page = client.get(f"/patrols/reports/{finding.report_id}").get_data(as_text=True)
    assert "Forwarded to 南城街道河长办 by 周河长" in page and "Resolved by 黄镇协" in page
    assert "Reported by 周河长" in page
    (forward,) = _audit(db, "patrol_finding.forward")
    (resolve,) = _audit(db, "patrol_finding.resolve")
    assert (forward.actor_id, forward.before["status"], forward.after["status"]) == (
        people["chief"].id,
        "reported",
        "forwarded",
    )
    assert (resolve.actor_id, resolve.before["status"], resolve.after["status"], resolve.note) == (
        people["town_coordinator"].id,
        "forwarded",
        "resolved",
        "街道环卫已清运",
    )
    assert resolve.organization_id == finding.segment.team_id


def test_a_finding_dealt_with_on_the_spot_is_resolved_at_once(db, people, finding, now):
    reports.resolve_finding(finding, note="队员当场清理，装袋带走", by=people["team_coordinator"], now=now)
    db.session.commit()
    assert (finding.status, finding.forwarded_at, finding.resolved_by_id) == (
        "resolved",
        None,
        people["team_coordinator"].id,
    )


def test_steps_out_of_order_and_missing_words_are_refused(db, people, finding, now):
    chief = people["chief"]
    with pytest.raises(ValidationFailed) as refused:
        reports.forward_finding(finding, to="  ", note="", by=chief, now=now)
    assert refused.value.field == "forwarded_to"
    with pytest.raises(ValidationFailed) as refused:
        reports.resolve_finding(finding, note="", by=chief, now=now)
    assert refused.value.code == "note_required"
    reports.forward_finding(finding, to="区水务局", note="", by=chief, now=now)
    reports.resolve_finding(finding, note="已修复", by=chief, now=now)
    db.session.commit()
    with pytest.raises(Conflict):
        reports.forward_finding(finding, to="区水务局", note="", by=chief, now=now)
    with pytest.raises(Conflict):
        reports.resolve_finding(finding, note="again", by=chief, now=now)
    with pytest.raises(Conflict) as refused:
        reports.update_finding(finding, reports.FindingData("other", "改"), [], by=chief, now=now)
    assert refused.value.code == "finding_closed"


def test_a_concurrent_step_loses_cleanly(db, people, finding, now):
    """Someone forwarded the finding after this request loaded it: the guarded UPDATE refuses the second step."""
    db.session.execute(
        PatrolFinding.__table__.update()
        .where(PatrolFinding.id == finding.id)
        .values(status="forwarded", forwarded_at=now, forwarded_by_id=people["chief"].id, forwarded_to="河长办")
    )
    assert finding.status == "reported"  # what this request still believes
    with pytest.raises(Conflict) as refused:
        reports.forward_finding(finding, to="水务局", note="", by=people["team_coordinator"], now=now)
    assert refused.value.code == "finding_changed"
    assert (finding.status, finding.forwarded_to) == ("forwarded", "河长办")
    db.session.rollback()


@pytest.mark.parametrize(
    "who",
    ["patroller", "teammate", "town_reviewer", "other_team_volunteer", "outside_coordinator", "branch_coordinator"],
)
def test_only_the_chief_and_coordinators_over_the_team_follow_findings_up(
    db, client, login, people, finding, put_on_patrol, patrol, now, who
):
    put_on_patrol(people["patroller"], patrol)
    with pytest.raises(PermissionDenied):
        reports.forward_finding(finding, to="河长办", note="", by=people[who], now=now)
    db.session.rollback()
    login(people[who])
    assert (
        client.post(
            f"/patrols/findings/{finding.id}/forward", data={f"forward-{finding.id}-forwarded_to": "河长办"}
        ).status_code
        == 403
    )
    assert (
        client.post(f"/patrols/findings/{finding.id}/resolve", data={f"resolve-{finding.id}-note": "好了"}).status_code
        == 403
    )
    db.session.expire_all()
    assert db.session.get(PatrolFinding, finding.id).status == "reported"


def test_a_missing_forward_recipient_is_shown_beside_the_field(client, login, people, finding):
    login(people["chief"])
    response = client.post(f"/patrols/findings/{finding.id}/forward", data={f"forward-{finding.id}-forwarded_to": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Say to whom the finding was forwarded." in page and f'id="field-forward-{finding.id}-forwarded_to"' in page


def test_editing_a_reported_finding_keeps_who_and_when(db, client, login, people, finding, patrol, put_on_patrol):
    put_on_patrol(people["patroller"], patrol)
    login(people["patroller"])
    page = client.get(f"/patrols/findings/{finding.id}/edit")
    assert page.status_code == 200 and "岸边堆放建筑垃圾" in page.get_data(as_text=True)
    response = client.post(
        f"/patrols/findings/{finding.id}/edit",
        data={
            "category": "damaged_facility",
            "description": "护栏断了两段",
            "latitude": "23.0203",
            "longitude": "113.7561",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    finding = db.session.get(PatrolFinding, finding.id)
    assert (finding.category, finding.reported_by_id, finding.updated_by_id) == (
        "damaged_facility",
        people["chief"].id,
        people["patroller"].id,
    )
    (edit,) = _audit(db, "patrol_finding.edit")
    assert edit.before["category"] == "rubbish" and edit.after["category"] == "damaged_facility"
