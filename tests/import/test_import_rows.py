"""Importing a file of good and bad rows: the good land, every bad row is reported, a second import adds nothing."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from app.audit import AuditLog
from app.security import decrypt_id_number, hash_id_number
from app.timeutil import local_today
from volunteers.accounts.models import User


def user_count(db) -> int:
    return db.session.scalar(select(func.count(User.id)))


def rejected_row_text(html: str, row: int) -> str:
    """The text of one row of the rejected-rows table, tags removed."""
    found = re.search(rf'<tr id="row-{row}">(.*?)</tr>', html, re.DOTALL)
    assert found, f"row {row} is not listed as rejected"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))


def wrong_check_digit(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def test_good_rows_land_bad_rows_are_reported_and_a_second_import_adds_nothing(
    client, db, orgs, make_user, town_admin, skills, make_row, xlsx, run_upload
):
    registered = make_user(organization=orgs["nancheng_team"])
    today = local_today()
    child = date(today.year - 10, 1, 1)
    good = [
        make_row(所属组织="南城街道志愿服务队", 技能="急救", 语言="粤语、English"),  # row 2
        make_row(所属组织=str(orgs["nancheng_branch"].id)),  # row 3
        make_row(),  # row 4
        make_row(birth=child, 监护人姓名="李监护", 监护人手机="13600000000"),  # row 5
        make_row(政治面貌="入团积极分子", 成为入团积极分子日期="2025-09-01"),  # row 6
    ]
    good[2]["手机号"] = int(good[2]["手机号"])  # a mobile typed into a number cell is still fine
    bad = [
        make_row(身份证号=wrong_check_digit(make_row()["身份证号"])),  # row 8
        make_row(手机号=registered.mobile),  # row 9
        make_row(身份证号=good[0]["身份证号"]),  # row 10
        make_row(手机号=good[1]["手机号"]),  # row 11
        make_row(所属组织="不存在的志愿队"),  # row 12
        make_row(所属组织="东城街道志愿者协会"),  # row 13
        make_row(birth=child),  # row 14
        make_row(政治面貌="路人"),  # row 15
        make_row(技能="飞行"),  # row 16
        make_row(政治面貌="入团积极分子"),  # row 17
        make_row(身份证号=4.41900200101012e17),  # row 18
        make_row(姓名=""),  # row 19
    ]
    data = xlsx([*good, {}, *bad])  # row 7 is blank and is passed over
    before = user_count(db)

    job = run_upload(data, orgs["nancheng"])

    assert job.status == "done"
    assert (job.rows_total, job.rows_imported, job.rows_skipped, job.rows_rejected) == (17, 5, 0, 12)
    assert user_count(db) == before + 5
    assert sorted(entry["row"] for entry in job.rejected_rows) == list(range(8, 20))

    users = {u.mobile: u for u in db.session.scalars(select(User).where(User.source == "imported"))}
    assert set(users) == {str(row["手机号"]) for row in good}
    for row in good:
        user = users[str(row["手机号"])]
        assert user.password_hash is None and user.activated_at is None and not user.is_active
        assert decrypt_id_number(user.id_number_encrypted) == row["身份证号"]
        assert user.id_number_hash == hash_id_number(row["身份证号"])
        assert user.volunteer_number.startswith(f"DG{today.year}")
        assert user.name == row["姓名"]
    first, second, third, minor, activist = (users[str(row["手机号"])] for row in good)
    assert first.organization_id == orgs["nancheng_team"].id
    assert {s.name for s in first.skills} == {"急救", "粤语", "英语"}
    assert second.organization_id == orgs["nancheng_branch"].id
    assert third.organization_id == orgs["nancheng"].id  # empty organization: the import's own
    assert minor.guardian_name == "李监护" and minor.guardian_consent_at is not None
    assert activist.activist_since == date(2025, 9, 1)
    assert len({u.volunteer_number for u in users.values()}) == 5

    page = client.get(f"/admin/import/{job.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    expected = {
        8: "ID number check digit is wrong",
        9: "This mobile number is already registered to another volunteer.",
        10: "Same ID number as row 2 of this file.",
        11: "Same mobile number as row 3 of this file.",
        12: "No organization is called “不存在的志愿队”.",
        13: "“东城街道志愿者协会” is not part of 南城街道",
        14: "Volunteers under 14 need a guardian's name and mobile number.",
        15: "Political status must be one of",
        16: "Unknown skill “飞行”.",
        17: "Membership activists need the date they became an activist.",
        18: "The ID number was saved as a number and lost digits",
        19: "The name is missing.",
    }
    for row, reason in expected.items():
        assert reason in rejected_row_text(html.replace("&#39;", "'"), row), (row, rejected_row_text(html, row))
    for row in range(2, 8):
        assert f'id="row-{row}"' not in html
    assert re.search(r'id="count-imported">5<', html) and re.search(r'id="count-rejected">12<', html)
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "volunteer.import")) == 1

    again = run_upload(data, orgs["nancheng"])
    assert again.status == "done"
    assert again.rows_imported == 0
    assert again.rows_skipped == 6  # the five imported people, and row 10 whose ID number is now registered
    assert again.rows_rejected == 11
    assert user_count(db) == before + 5


def test_the_administration_page_links_to_the_import(client, town_admin):
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/import"' in page and "Import volunteers" in page


def test_the_downloaded_template_imports_nothing_by_itself(client, db, orgs, town_admin, run_upload):
    response = client.get("/admin/import/template")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    from io import BytesIO

    from openpyxl import load_workbook

    workbook = load_workbook(BytesIO(response.data))
    sheet = workbook.worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert headers[:11] == [
        "姓名",
        "手机号",
        "身份证号",
        "政治面貌",
        "所属组织",
        "技能",
        "语言",
        "紧急联系人",
        "紧急联系人手机",
        "监护人姓名",
        "监护人手机",
    ]
    assert sheet.cell(row=2, column=1).value  # the example row
    assert len(workbook.sheetnames) == 2 and workbook.worksheets[1].max_row > 10  # the notes

    before = user_count(db)
    job = run_upload(response.data, orgs["nancheng"])
    assert job.status == "done" and job.rows_total == 0 and job.rows_imported == 0
    assert user_count(db) == before


def test_city_administrator_imports_anywhere_below_the_city(db, orgs, make_user, login, make_row, run_upload):
    admin = make_user(organization=orgs["city"], role="admin", role_org=orgs["city"])
    login(admin)
    rows = [make_row(所属组织="东城街道志愿者协会"), make_row(所属组织="东莞理工学院青年志愿者协会")]
    job = run_upload(rows, orgs["city"])
    assert (job.status, job.rows_imported, job.rows_rejected) == ("done", 2, 0)


def test_ambiguous_organization_names_ask_for_the_id(db, orgs, make_org, town_admin, make_row, run_upload):
    make_org("青年突击队", "team", orgs["nancheng"])
    make_org("青年突击队", "team", orgs["nancheng_branch"])
    job = run_upload([make_row(所属组织="青年突击队")], orgs["nancheng"])
    assert job.rows_rejected == 1
    assert job.rejected_rows[0]["problems"][0]["code"] == "organization_ambiguous"


def test_past_imports_list_only_the_administrators_subtree(
    client, db, orgs, make_user, make_client, login, make_row, xlsx, upload, job_id_of
):
    nancheng_admin = make_user(organization=orgs["nancheng"], role="admin", role_org=orgs["nancheng"])
    dongcheng_admin = make_user(organization=orgs["dongcheng"], role="admin", role_org=orgs["dongcheng"])
    nancheng_client = login(nancheng_admin, target=make_client())
    dongcheng_client = login(dongcheng_admin, target=make_client())
    nancheng_job = job_id_of(
        upload(xlsx([make_row()]), orgs["nancheng"], filename="nancheng.xlsx", target=nancheng_client)
    )
    dongcheng_job = job_id_of(
        upload(xlsx([make_row()]), orgs["dongcheng"], filename="dongcheng.xlsx", target=dongcheng_client)
    )

    listing = nancheng_client.get("/admin/import").get_data(as_text=True)
    assert f'id="import-{nancheng_job}"' in listing and "nancheng.xlsx" in listing
    assert f'id="import-{dongcheng_job}"' not in listing and "dongcheng.xlsx" not in listing
