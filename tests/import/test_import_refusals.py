"""Who may import, and which files are refused before any row is read."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from app.permissions import Role
from volunteers.accounts.models import User
from volunteers.imports.models import ImportJob


def counts(db) -> tuple[int, int]:
    return (db.session.scalar(select(func.count(User.id))), db.session.scalar(select(func.count(ImportJob.id))))


@pytest.mark.parametrize("role", [None, Role.COORDINATOR, Role.REVIEWER])
def test_only_administrators_reach_the_import_pages(client, db, orgs, make_user, login, make_row, xlsx, upload, role):
    user = make_user(organization=orgs["nancheng"], role=role, role_org=orgs["nancheng"])
    login(user)
    before = counts(db)
    for path in ("/admin/import", "/admin/import/template"):
        assert client.get(path).status_code == 403
    assert upload(xlsx([make_row()]), orgs["nancheng"]).status_code == 403
    assert counts(db) == before


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/admin/import")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_administrator_of_another_town_is_refused(
    db, orgs, make_user, make_client, login, make_row, xlsx, upload, job_id_of
):
    nancheng_admin = make_user(organization=orgs["nancheng"], role=Role.ADMIN, role_org=orgs["nancheng"])
    dongcheng_admin = make_user(organization=orgs["dongcheng"], role=Role.ADMIN, role_org=orgs["dongcheng"])
    owner = login(nancheng_admin, target=make_client())
    stranger = login(dongcheng_admin, target=make_client())
    job_id = job_id_of(upload(xlsx([make_row()]), orgs["nancheng"], target=owner))

    assert stranger.get(f"/admin/import/{job_id}").status_code == 403
    progress = stranger.get(f"/admin/import/{job_id}/progress", headers={"Accept": "application/json"})
    assert progress.status_code == 403 and progress.get_json()["error"]["code"] == "forbidden"
    before = counts(db)
    assert upload(xlsx([make_row()]), orgs["nancheng"], target=stranger).status_code == 403
    assert upload(xlsx([make_row()]), orgs["nancheng_team"], target=stranger).status_code == 403
    assert counts(db) == before
    assert owner.get(f"/admin/import/{job_id}").status_code == 200
    assert stranger.get("/admin/import/999999").status_code == 404


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content, message",
    [
        ("姓名,手机号\n张三,13800000000\n".encode(), "This file is not an Excel .xlsx workbook."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "This is an old-style .xls file."),
        (_zip_without_workbook(), "This file is not an Excel .xlsx workbook."),
        (b"", "This file is not an Excel .xlsx workbook."),
    ],
    ids=["renamed-text", "old-xls", "zip-without-workbook", "empty"],
)
def test_files_that_are_not_xlsx_are_refused_with_a_message_and_no_rows(
    client, db, orgs, town_admin, upload, content, message
):
    before = counts(db)
    response = upload(content, orgs["nancheng"], filename="volunteers.xlsx")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="field-file"' in html and "has-error" in html
    assert counts(db) == before


def test_an_upload_without_a_file_asks_for_one(client, db, orgs, town_admin):
    response = client.post(
        "/admin/import", data={"organization_id": str(orgs["nancheng"].id)}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "Choose the file to upload." in response.get_data(as_text=True)


def test_a_sheet_without_the_template_columns_is_refused(client, db, orgs, town_admin, xlsx, upload):
    before = counts(db)
    response = upload(xlsx([{"姓名": "张三"}], columns=["姓名", "电话"]), orgs["nancheng"])
    assert response.status_code == 422
    assert "missing: 手机号、身份证号、政治面貌、紧急联系人、紧急联系人手机" in response.get_data(as_text=True)
    assert counts(db) == before


@pytest.fixture
def app_overrides():
    return {"IMPORT_MAX_ROWS": 3, "IMPORT_MAX_UNPACKED_BYTES": 2 * 1024 * 1024}


def test_files_that_unpack_to_too_much_are_refused_before_reading(client, db, orgs, town_admin, make_row, xlsx, upload):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with zipfile.ZipFile(io.BytesIO(xlsx([make_row()]))) as real:
            for info in real.infolist():
                archive.writestr(info.filename, real.read(info.filename))
        archive.writestr("xl/padding.bin", bytes(3 * 1024 * 1024))  # compresses to a few KB
    assert len(buffer.getvalue()) < 100_000
    before = counts(db)
    response = upload(buffer.getvalue(), orgs["nancheng"])
    assert response.status_code == 422
    assert "The file is too large once unpacked" in response.get_data(as_text=True)
    assert counts(db) == before


def test_files_over_the_row_limit_are_refused(client, db, orgs, town_admin, make_row, xlsx, upload):
    before = counts(db)
    response = upload(xlsx([make_row() for _ in range(4)]), orgs["nancheng"])
    assert response.status_code == 422
    assert "The file has more than 3 rows" in response.get_data(as_text=True)
    assert counts(db) == before
    accepted = upload(xlsx([make_row() for _ in range(3)]), orgs["nancheng"])
    assert accepted.status_code == 302


def test_files_without_a_recorded_size_fail_at_the_limit_and_write_nothing(
    client, db, orgs, town_admin, make_row, xlsx, upload, job_id_of
):
    users_before = counts(db)[0]
    # write_only workbooks record no dimension: the limit is found while reading.
    job_id = job_id_of(upload(xlsx([make_row() for _ in range(4)], write_only=True), orgs["nancheng"]))
    job = db.session.get(ImportJob, job_id)
    assert job.status == "failed" and job.failure_code == "too_many_rows"
    assert counts(db)[0] == users_before
    html = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert "The file has more than 3 rows" in html
