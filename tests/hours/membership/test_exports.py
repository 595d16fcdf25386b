"""Excel exports: the committee's applicant list, and newly approved members for the national League system."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.audit import AuditLog
from app.security import decrypt_id_number
from app.timeutil import local_today, utcnow
from hours.membership.decisions import verify_eligibility
from hours.membership.export import LEAGUE_HEADERS


def sheet_rows(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def test_applicant_list_export_opens_with_the_filtered_rows(make_applicant, make_ready, people, login, client):
    make_ready(make_applicant(name="全达标"))
    make_ready(make_applicant(name="缺时长"), service_minutes=600)
    make_applicant(name="刚申请")
    login(people["reviewer"])
    rows = sheet_rows(client.get("/hours/membership/applicants.xlsx"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Name", "Volunteer number", "Organization"]
    by_name = {row[0]: dict(zip(header, row, strict=False)) for row in body}
    assert set(by_name) == {"全达标", "缺时长", "刚申请"}
    assert by_name["全达标"]["Meets all conditions"] == "Yes"
    assert by_name["全达标"]["Theory class hours"] == 12 and by_name["全达标"]["Verified service hours"] == 20
    assert by_name["缺时长"]["Verified service hours"] == 10
    assert "10.0 more verified service hours needed" in by_name["缺时长"]["What is missing"]
    assert by_name["刚申请"]["Ideology evaluation"] == "Not recorded"
    ready_only = sheet_rows(client.get("/hours/membership/applicants.xlsx?status=ready"))
    assert [row[0] for row in ready_only[1:]] == ["全达标"]


def test_applicant_list_export_of_an_outsider_is_empty(make_applicant, make_ready, people, login, client):
    make_ready(make_applicant(name="全达标"))
    login(people["outsider"])
    assert sheet_rows(client.get("/hours/membership/applicants.xlsx"))[1:] == []


@pytest.fixture
def approved(db, make_applicant, make_ready, people, orgs):
    """Two applicants approved today by 南城街道's reviewer, one only ready, one approved in 东城街道."""
    now = utcnow()
    first = make_ready(make_applicant(name="李新团", activist_since=local_today(now) - timedelta(days=200)))
    second = make_ready(make_applicant(name="赵新团", organization=orgs["nancheng_team"]))
    make_ready(make_applicant(name="未审核"))
    for applicant in (first, second):
        verify_eligibility(applicant, approved=True, note="", by=people["reviewer"], now=now)
    elsewhere = make_ready(
        make_applicant(name="东城新团", organization=orgs["dongcheng_team"]), evaluator=people["outsider"]
    )
    verify_eligibility(elsewhere, approved=True, note="", by=people["outsider"], now=now)
    db.session.commit()
    return {"first": first, "second": second, "elsewhere": elsewhere}


def export(client, since):
    return client.post("/hours/membership/approved.xlsx", data={"since": since.isoformat()})


def test_league_export_for_an_administrator_has_full_id_numbers(db, approved, people, login, client):
    login(people["admin"])
    rows = sheet_rows(export(client, local_today(utcnow())))
    assert tuple(rows[0]) == LEAGUE_HEADERS
    records = {row[0]: dict(zip(LEAGUE_HEADERS, row, strict=False)) for row in rows[1:]}
    assert set(records) == {"李新团", "赵新团"}  # not the unapproved one, not 东城街道's
    first = approved["first"]
    record = records["李新团"]
    assert record["身份证号"] == decrypt_id_number(first.id_number_encrypted)
    assert record["性别"] == {"M": "男", "F": "女"}[first.sex]
    assert record["出生日期"] == first.birth_date.isoformat()
    assert record["手机号"] == first.mobile
    assert record["所属团组织"] == first.organization.name
    assert record["入团申请/积极分子日期"] == first.activist_since.isoformat()
    assert record["团前教育学时"] == 12 and record["志愿服务时长"] == 20
    assert record["思政考评结果"] == "合格"
    assert record["审核通过日期"] == local_today(utcnow()).isoformat()
    assert record["民族"] is None  # not kept by this system: left for the branch to fill in
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "membership.export_league"))
    assert entry.actor_id == people["admin"].id
    assert entry.after["rows"] == 2
    assert sorted(entry.after["full_id_numbers"]) == sorted([approved["first"].id, approved["second"].id])


def test_league_export_for_a_reviewer_masks_id_numbers(db, approved, people, login, client):
    login(people["reviewer"])
    rows = sheet_rows(export(client, local_today(utcnow())))
    records = {row[0]: dict(zip(LEAGUE_HEADERS, row, strict=False)) for row in rows[1:]}
    assert set(records) == {"李新团", "赵新团"}
    full = decrypt_id_number(approved["first"].id_number_encrypted)
    assert records["李新团"]["身份证号"] == approved["first"].masked_id_number
    assert full not in str(rows)
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "membership.export_league"))
    assert entry.actor_id == people["reviewer"].id and entry.after["full_id_numbers"] == []


def test_league_export_only_since_the_chosen_day(approved, people, login, client):
    login(people["admin"])
    tomorrow = local_today(utcnow()) + timedelta(days=1)
    assert sheet_rows(export(client, tomorrow))[1:] == []


def test_league_export_is_limited_to_the_subtree(approved, people, login, client):
    login(people["outsider"])
    rows = sheet_rows(export(client, local_today(utcnow())))
    assert [row[0] for row in rows[1:]] == ["东城新团"]
    assert rows[1][4] == approved["elsewhere"].masked_id_number  # a reviewer, not an administrator


def test_a_later_refusal_takes_a_member_out_of_the_export(db, approved, people, login, client):
    verify_eligibility(approved["second"], approved=False, note="发现材料问题", by=people["admin"], now=utcnow())
    db.session.commit()
    login(people["admin"])
    rows = sheet_rows(export(client, local_today(utcnow())))
    assert [row[0] for row in rows[1:]] == ["李新团"]


def test_league_export_page_previews_and_validates(approved, people, login, client):
    login(people["reviewer"])
    page = client.get("/hours/membership/approved")
    assert page.status_code == 200
    html = client.get(f"/hours/membership/approved?since={local_today(utcnow()).isoformat()}").get_data(as_text=True)
    assert "李新团" in html and "赵新团" in html and "东城新团" not in html
    assert decrypt_id_number(approved["first"].id_number_encrypted) not in html
    assert client.get("/hours/membership/approved?since=not-a-date").status_code == 422
    assert client.post("/hours/membership/approved.xlsx", data={"since": ""}).status_code == 422


def test_volunteers_cannot_export(approved, people, login, client):
    login(people["volunteer"])
    assert export(client, local_today(utcnow())).status_code == 403
