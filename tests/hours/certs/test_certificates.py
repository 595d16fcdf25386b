"""Certificates 志愿服务证明: issuing (only verified hours), the PDF, revocation and the public check."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.audit import AuditLog
from app.security import decrypt_id_number
from hours.certificates import services as certificates
from hours.certificates.models import Certificate
from tests.support import local

PERIOD = {"period_start": "2026-01-01", "period_end": "2026-06-30"}


@pytest.fixture
def hours_of_volunteer(cast, make_event, credit, orgs):
    """张三桐: 90 + 120 verified minutes in the period; pending, rejected and out-of-period hours besides."""
    volunteer = cast["volunteer"]
    river = make_event(local(2026, 3, 7), kind="river_patrol", title="东莞运河护河行动")
    expo = make_event(local(2026, 4, 18), kind="expo", title="漫博会", organization=orgs["dongcheng"])
    credit(volunteer, river, local(2026, 3, 7, 9), 90, position="巡河")
    credit(volunteer, expo, local(2026, 4, 18, 9), 120, position="引导", submitter=cast["dongcheng_coordinator"])
    credit(volunteer, make_event(local(2026, 5, 1)), local(2026, 5, 1, 9), 60, status="submitted")
    credit(volunteer, make_event(local(2026, 5, 2)), local(2026, 5, 2, 9), 45, status="rejected")
    credit(volunteer, make_event(local(2026, 5, 3)), local(2026, 5, 3, 9), 30, status="recorded")
    credit(volunteer, make_event(local(2025, 12, 20)), local(2025, 12, 20, 9), 240)  # before the period
    return volunteer


def _issue(client, url="/hours/certificates/", data=PERIOD):
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    certificate_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    return certificate_id


def test_volunteer_issues_own_certificate_of_verified_hours_only(db, client_of, hours_of_volunteer):
    client = client_of(hours_of_volunteer)
    certificate = db.session.get(Certificate, _issue(client))
    assert certificate.total_minutes == 210
    assert certificate.total_hours == "3.5"
    assert [(s["date"], s["organizer"], s["content"], s["minutes"]) for s in certificate.services] == [
        ("2026-03-07", "南城街道", "东莞运河护河行动 / 巡河", 90),
        ("2026-04-18", "东城街道", "漫博会 / 引导", 120),
    ]
    assert certificate.organization.name == "南城街道"  # the committee above the volunteer's team
    assert certificate.issued_by_id == hours_of_volunteer.id
    assert re.fullmatch(r"2\d{3}-\d{6}-[2-9A-HJ-NP-Z]{6}", certificate.serial)
    page = client.get(f"/hours/certificates/{certificate.id}").get_data(as_text=True)
    assert certificate.serial in page and "3.5" in page
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "certificate.issue"))
    assert audit.target_id == certificate.id and audit.after["total_minutes"] == 210


def test_pdf_is_valid_and_carries_serial_total_and_chinese(db, client_of, hours_of_volunteer):
    client = client_of(hours_of_volunteer)
    certificate = db.session.get(Certificate, _issue(client))
    response = client.get(f"/hours/certificates/{certificate.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert certificate.serial in text
    assert "3.5" in text
    assert "张三桐" in text and "东莞运河护河行动" in text  # Chinese set in the embedded font
    fonts = {
        str(font["/BaseFont"]) for page in reader.pages for font in page["/Resources"]["/Font"].get_object().values()
    }
    assert any("CertificateCJK" in name or "WenQuanYi" in name for name in fonts), fonts
    assert "60" not in re.findall(r"\b\d+\b", text.split("Total")[0])  # the pending hour is not listed
    full_id = decrypt_id_number(hours_of_volunteer.id_number_encrypted)
    assert full_id not in text


def test_staff_issue_for_volunteer_of_their_subtree(db, client_of, cast, hours_of_volunteer):
    client = client_of(cast["coordinator"])
    certificate = db.session.get(Certificate, _issue(client, f"/hours/certificates/volunteers/{hours_of_volunteer.id}"))
    assert certificate.volunteer_id == hours_of_volunteer.id
    assert certificate.issued_by_id == cast["coordinator"].id
    assert client.get(f"/hours/certificates/{certificate.id}.pdf").status_code == 200
    listing = client.get("/hours/certificates/manage?q=" + hours_of_volunteer.volunteer_number)
    assert certificate.serial in listing.get_data(as_text=True)


def test_volunteer_cannot_get_anothers_certificate(db, client_of, cast, hours_of_volunteer):
    owner = client_of(hours_of_volunteer)
    certificate_id = _issue(owner)
    other = client_of(cast["other_volunteer"])
    assert other.get(f"/hours/certificates/{certificate_id}.pdf").status_code == 403
    assert other.get(f"/hours/certificates/{certificate_id}").status_code == 403
    assert other.get(f"/hours/certificates/volunteers/{hours_of_volunteer.id}").status_code == 403
    assert other.post(f"/hours/certificates/volunteers/{hours_of_volunteer.id}", data=PERIOD).status_code == 403
    assert other.get("/hours/certificates/manage").status_code == 403
    outsider = client_of(cast["dongcheng_reviewer"])
    assert outsider.post(f"/hours/certificates/volunteers/{hours_of_volunteer.id}", data=PERIOD).status_code == 403
    assert outsider.get(f"/hours/certificates/{certificate_id}.pdf").status_code == 403
    assert db.session.scalar(select(Certificate).where(Certificate.issued_by_id == cast["other_volunteer"].id)) is None


def test_no_verified_hours_and_bad_periods_are_refused_beside_the_field(client_of, cast, hours_of_volunteer):
    client = client_of(cast["other_volunteer"])
    response = client.post("/hours/certificates/", data=PERIOD)
    assert response.status_code == 422
    assert "There are no verified hours in this period to certify." in response.get_data(as_text=True)
    client = client_of(hours_of_volunteer)
    response = client.post("/hours/certificates/", data={"period_start": "2026-06-30", "period_end": "2026-01-01"})
    assert response.status_code == 422
    assert "The period must end on or after its first day." in response.get_data(as_text=True)
    response = client.post("/hours/certificates/", data={"period_start": "2026-01-01", "period_end": "3026-01-01"})
    assert response.status_code == 422
    assert client.post("/hours/certificates/", data={"period_start": "x"}).status_code == 422


def test_public_page_shows_masked_name_period_total_and_no_personal_data(db, client, client_of, hours_of_volunteer):
    certificate = db.session.get(Certificate, _issue(client_of(hours_of_volunteer)))
    response = client.get(f"/verify/{certificate.serial}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Valid certificate" in page
    assert "张*桐" in page and "2026-01-01" in page and "2026-06-30" in page and "3.5" in page
    assert "张三桐" not in page
    full_id = decrypt_id_number(hours_of_volunteer.id_number_encrypted)
    assert full_id not in page and full_id[-4:] not in page and hours_of_volunteer.mobile not in page
    assert hours_of_volunteer.volunteer_number not in page
    # Typed by hand: lower case, no dashes.
    relaxed = certificate.serial.replace("-", "").lower()
    assert "Valid certificate" in client.get(f"/verify/{relaxed}").get_data(as_text=True)


def test_check_form_needs_the_matching_name(db, client, client_of, hours_of_volunteer):
    certificate = db.session.get(Certificate, _issue(client_of(hours_of_volunteer)))
    page = client.post("/verify", data={"serial": certificate.serial, "name": "张三桐"}).get_data(as_text=True)
    assert "Valid certificate" in page and "张*桐" in page and "张三桐" not in page.split("<form")[0]
    wrong = client.post("/verify", data={"serial": certificate.serial, "name": "张三"}).get_data(as_text=True)
    assert "Invalid certificate" in wrong and "张*桐" not in wrong and "3.5" not in wrong
    assert client.post("/verify", data={"serial": "", "name": ""}).status_code == 422


@pytest.mark.parametrize("serial", ["2026-000001-ABCDEF", "not-a-serial", "2026", "2026-000001-" + "Z" * 30])
def test_forged_serial_shows_invalid(client, serial):
    response = client.get(f"/verify/{serial}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Invalid certificate" in page and "Valid certificate" not in page


def test_well_formed_but_unknown_serial_shows_invalid(db, client, client_of, hours_of_volunteer):
    real = db.session.get(Certificate, _issue(client_of(hours_of_volunteer))).serial
    year, number, tail = real.split("-")
    body = tail[:-1]
    for replacement in certificates.SERIAL_ALPHABET:
        forged_body = replacement + body[1:]
        if forged_body != body:
            break
    forged = f"{year}-{number}-{forged_body}{certificates._check_character(year + number + forged_body)}"
    assert certificates.normalize_serial(forged) == forged  # passes the check character
    page = client.get(f"/verify/{forged}").get_data(as_text=True)
    assert "Invalid certificate" in page and "张*桐" not in page


def test_revoked_certificate_shows_invalid(db, client, client_of, cast, hours_of_volunteer):
    certificate = db.session.get(Certificate, _issue(client_of(hours_of_volunteer)))
    volunteer = client_of(hours_of_volunteer)
    assert volunteer.post(f"/hours/certificates/{certificate.id}/revoke", data={"reason": "x"}).status_code == 403
    coordinator = client_of(cast["coordinator"])  # issues, but may not revoke
    assert coordinator.post(f"/hours/certificates/{certificate.id}/revoke", data={"reason": "x"}).status_code == 403
    reviewer = client_of(cast["reviewer"])
    assert reviewer.post(f"/hours/certificates/{certificate.id}/revoke", data={"reason": " "}).status_code == 422
    response = reviewer.post(f"/hours/certificates/{certificate.id}/revoke", data={"reason": "时长记录有误"})
    assert response.status_code == 302
    db.session.expire_all()
    certificate = db.session.get(Certificate, certificate.id)
    assert certificate.revoked_by_id == cast["reviewer"].id and certificate.revoke_reason == "时长记录有误"
    page = client.get(f"/verify/{certificate.serial}").get_data(as_text=True)
    assert "Invalid certificate" in page and "revoked" in page and "Valid certificate" not in page
    assert "时长记录有误" not in page
    form = client.post("/verify", data={"serial": certificate.serial, "name": "张三桐"}).get_data(as_text=True)
    assert "Invalid certificate" in form
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "certificate.revoke"))
    assert audit.actor_id == cast["reviewer"].id and audit.note == "时长记录有误"
    again = reviewer.post(f"/hours/certificates/{certificate.id}/revoke", data={"reason": "again"})
    assert again.status_code in (302, 409)
    assert db.session.get(Certificate, certificate.id).revoke_reason == "时长记录有误"


def test_serial_numbers_are_unique_and_self_checking(db, app, now):
    serials = {certificates.new_serial(2026) for _ in range(50)}
    assert len(serials) == 50
    serial = sorted(serials)[0]
    assert certificates.normalize_serial(serial.lower().replace("-", " ")) == serial
    year, number, tail = serial.split("-")
    swapped = f"{year}-{number}-{tail[1]}{tail[0]}{tail[2:]}"
    values = certificates._CHECK_VALUES
    if (values.index(tail[0]) - values.index(tail[1])) % certificates._CHECK_MODULUS:
        assert certificates.normalize_serial(swapped) is None
    other_check = next(ch for ch in certificates.SERIAL_ALPHABET if ch != tail[-1])
    assert certificates.normalize_serial(f"{year}-{number}-{tail[:-1]}{other_check}") is None


@pytest.mark.parametrize(
    "name, masked", [("张三桐", "张*桐"), ("张三", "张*"), ("欧阳娜娜", "欧**娜"), ("李", "*"), ("", "*")]
)
def test_mask_name(name, masked):
    assert certificates.mask_name(name) == masked


def test_correction_after_issue_leaves_the_certificate_as_issued(db, client_of, cast, hours_of_volunteer, now):
    from hours.ledger.models import HourEntry
    from hours.ledger.services import correct_entry, verified_minutes
    from hours.review.verification import verify_entry

    client = client_of(hours_of_volunteer)
    certificate = db.session.get(Certificate, _issue(client))
    entry = db.session.scalar(
        select(HourEntry).where(HourEntry.volunteer_id == hours_of_volunteer.id, HourEntry.minutes == 90)
    )
    correction = correct_entry(entry, minutes=30, by=cast["reviewer"], now=now, reason="签退时间有误")
    verify_entry(correction, by=cast["city_reviewer"], now=now)
    db.session.commit()
    assert verified_minutes(hours_of_volunteer.id, period=(local(2026, 1, 1).date(), local(2026, 6, 30).date())) == 150
    page = client_of(cast["other_volunteer"]).get(f"/verify/{certificate.serial}").get_data(as_text=True)
    assert "3.5" in page
    newer = db.session.get(Certificate, _issue(client))
    assert newer.total_minutes == 150 and newer.serial != certificate.serial
