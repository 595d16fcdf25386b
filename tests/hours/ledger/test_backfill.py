"""Back-filled hours (补录): evidence checks, the activity cap, approval one level above, shown apart."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from app.errors import PermissionDenied
from app.permissions import Role
from hours.ledger import services as ledger
from hours.ledger.models import HourEntry, HourEvidence
from hours.review.verification import verify_entry
from tests.support import local

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def form(volunteer, *, evidence=(PDF, "签到表.pdf"), hours="2", minutes="30", day="2026-02-10", **extra):
    data = {
        "volunteer": volunteer.mobile,
        "shift_id": "0",
        "service_date": day,
        "hours": hours,
        "minutes": minutes,
        "reason": "当天手机没电，纸质签到表为证",
    }
    if evidence is not None:
        data["evidence"] = (io.BytesIO(evidence[0]), evidence[1])
    data.update(extra)
    return data


@pytest.fixture
def coordinator_client(make_client, login, people):
    return login(people["coordinator"], target=make_client())


def test_a_coordinator_back_fills_hours_with_evidence(app, db, coordinator_client, people, service):
    event, _shift = service
    response = coordinator_client.post(
        f"/hours/events/{event.id}/backfill", data=form(people["volunteer"]), content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    entry = db.session.scalar(select(HourEntry))
    assert (entry.kind, entry.minutes, entry.attendance_id, entry.author_id, ledger.entry_status(entry)) == (
        "backfill",
        150,
        None,
        people["coordinator"].id,
        "submitted",
    )
    evidence = db.session.get(HourEvidence, entry.evidence_id)
    assert evidence.content_type == "application/pdf" and evidence.original_name == "签到表.pdf"
    stored = os.path.join(app.config["HOURS_EVIDENCE_DIR"], evidence.stored_name)
    assert Path(stored).read_bytes() == PDF
    assert "签到表" not in evidence.stored_name and len(evidence.stored_name) == 36


@pytest.mark.parametrize(
    "evidence, message",
    [
        ((b"MZ\x90\x00 not a pdf at all", "evidence.pdf"), "must be a PDF, JPEG or PNG"),
        ((b"<svg xmlns='http://www.w3.org/2000/svg'/>", "photo.png"), "must be a PDF, JPEG or PNG"),
        ((b"%PDF-" + b"0" * (64 * 1024), "big.pdf"), "too large"),
        (None, "Attach the evidence"),
    ],
)
def test_evidence_type_and_size_are_checked(db, coordinator_client, people, service, evidence, message):
    event, _shift = service
    response = coordinator_client.post(
        f"/hours/events/{event.id}/backfill",
        data=form(people["volunteer"], evidence=evidence),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(HourEntry)) is None and db.session.scalar(select(HourEvidence)) is None


@pytest.mark.parametrize("evidence", [(PNG, "scan.png"), (JPEG, "photo.jpg")])
def test_images_are_accepted(db, coordinator_client, people, service, evidence):
    event, _shift = service
    response = coordinator_client.post(
        f"/hours/events/{event.id}/backfill",
        data=form(people["volunteer"], evidence=evidence),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302


def test_back_filled_hours_are_capped_at_the_activity(db, coordinator_client, people, service):
    event, shift = service  # event 08:00-18:00 (600 minutes), shift 09:00-12:00 (180 minutes)
    url = f"/hours/events/{event.id}/backfill"
    too_long = coordinator_client.post(
        url, data=form(people["volunteer"], hours="10", minutes="1"), content_type="multipart/form-data"
    )
    assert too_long.status_code == 422 and "At most 600 minutes" in too_long.get_data(as_text=True)
    over_shift = coordinator_client.post(
        url,
        data=form(people["volunteer"], hours="3", minutes="1", shift_id=str(shift.id)),
        content_type="multipart/form-data",
    )
    assert over_shift.status_code == 422 and "At most 180 minutes" in over_shift.get_data(as_text=True)
    assert (
        coordinator_client.post(
            url, data=form(people["volunteer"], hours="8", minutes="0"), content_type="multipart/form-data"
        ).status_code
        == 302
    )
    together = coordinator_client.post(
        url, data=form(people["volunteer"], hours="2", minutes="1"), content_type="multipart/form-data"
    )
    assert together.status_code == 422 and "already has 480 minutes" in together.get_data(as_text=True)
    outside = coordinator_client.post(
        url, data=form(people["other_volunteer"], day="2026-02-11"), content_type="multipart/form-data"
    )
    assert outside.status_code == 422 and "must fall within the event" in outside.get_data(as_text=True)
    unknown = coordinator_client.post(
        url, data={**form(people["other_volunteer"]), "volunteer": "13900000000"}, content_type="multipart/form-data"
    )
    assert unknown.status_code == 422 and "No volunteer has that mobile" in unknown.get_data(as_text=True)


def test_a_volunteer_cannot_back_fill(client, login, people, service):
    event, _shift = service
    login(people["volunteer"])
    assert client.get(f"/hours/events/{event.id}/backfill").status_code == 403
    assert (
        client.post(
            f"/hours/events/{event.id}/backfill", data=form(people["volunteer"]), content_type="multipart/form-data"
        ).status_code
        == 403
    )


def test_approval_needs_a_reviewer_one_level_above_the_organizer(
    db, make_client, login, coordinator_client, people, service, now
):
    event, _shift = service  # organized by 南城街道: its own reviewer may not approve; the city's may
    coordinator_client.post(
        f"/hours/events/{event.id}/backfill", data=form(people["volunteer"]), content_type="multipart/form-data"
    )
    entry = db.session.scalar(select(HourEntry))
    with pytest.raises(PermissionDenied) as refused:
        verify_entry(entry, by=people["reviewer"], now=now)
    assert refused.value.code == "needs_higher_level"
    db.session.rollback()
    same_level = login(people["reviewer"], target=make_client())
    assert f"event-{event.id}" not in same_level.get("/hours/review").get_data(as_text=True)
    assert same_level.post(f"/hours/entries/{entry.id}/decide", data={"decision": "verify"}).status_code == 403
    city = login(people["city_reviewer"], target=make_client())
    assert f"event-{event.id}" in city.get("/hours/review").get_data(as_text=True)
    assert city.post(f"/hours/entries/{entry.id}/decide", data={"decision": "verify"}).status_code == 302
    assert ledger.verified_minutes(people["volunteer"].id, year=2026, kind="backfill") == 150
    assert ledger.verified_minutes(people["volunteer"].id, year=2026, kind="scan") == 0


def test_a_team_event_is_approved_by_the_town_above_it(
    db, orgs, make_user, make_client, login, people, make_event, now
):
    event = make_event(local(2026, 2, 10, 8), local(2026, 2, 10, 18), organization=orgs["nancheng_team"])
    team_staff = make_user(organization=orgs["nancheng_team"], role=Role.COORDINATOR, role_org=orgs["nancheng_team"])
    team_reviewer = make_user(organization=orgs["nancheng_team"], role=Role.REVIEWER, role_org=orgs["nancheng_team"])
    login(team_staff, target=make_client()).post(
        f"/hours/events/{event.id}/backfill", data=form(people["volunteer"]), content_type="multipart/form-data"
    )
    entry = db.session.scalar(select(HourEntry))
    with pytest.raises(PermissionDenied):
        verify_entry(entry, by=team_reviewer, now=now)
    db.session.rollback()
    verify_entry(entry, by=people["reviewer"], now=now)  # 南城街道 is one level above the team
    db.session.commit()
    assert ledger.entry_status(entry) == "verified"


def test_evidence_is_served_only_to_staff_of_the_organizer(db, make_client, login, coordinator_client, people, service):
    event, _shift = service
    coordinator_client.post(
        f"/hours/events/{event.id}/backfill", data=form(people["volunteer"]), content_type="multipart/form-data"
    )
    evidence = db.session.scalar(select(HourEvidence))
    url = f"/hours/evidence/{evidence.id}"
    response = coordinator_client.get(url)
    assert response.status_code == 200 and response.data == PDF and response.mimetype == "application/pdf"
    assert login(people["city_reviewer"], target=make_client()).get(url).status_code == 200
    assert login(people["volunteer"], target=make_client()).get(url).status_code == 403
    assert login(people["dongcheng_reviewer"], target=make_client()).get(url).status_code == 403
    assert make_client().get(url).status_code == 302  # to the login page


def test_back_filled_hours_are_shown_apart(
    db, make_client, login, coordinator_client, people, service, make_attendance, now
):
    event, shift = service
    coordinator_client.post(
        f"/hours/events/{event.id}/backfill", data=form(people["volunteer"]), content_type="multipart/form-data"
    )
    ledger.record_attendance(
        make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 10)), now=now
    )
    db.session.commit()
    page = login(people["volunteer"], target=make_client()).get("/hours/?year=2026").get_data(as_text=True)
    scan = page[page.index('id="scan-entries"') : page.index('id="backfill-entries"')]
    backfill = page[page.index('id="backfill-entries"') :]
    assert "1 h 0 min" in scan and "2 h 30 min" not in scan
    assert "2 h 30 min" in backfill and "Submitted" in backfill
