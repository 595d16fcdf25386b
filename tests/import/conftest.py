"""Import test helpers: building .xlsx files, valid rows, uploading, administrators, skills.

The folder is named `import`, a Python keyword, so its helpers are handed out as fixtures.
"""

from __future__ import annotations

import io
import itertools
import re
from datetime import date

import pytest
from openpyxl import Workbook

from app.permissions import Role
from app.security import demo_id_number
from tests import factories
from volunteers.imports.rows import COLUMNS

_sequence = itertools.count(1)


def xlsx_bytes(rows: list[dict], *, columns: list[str] = COLUMNS, write_only: bool = False) -> bytes:
    """An .xlsx whose first row holds `columns` and then one row per dict (missing keys stay empty).

    Written in normal mode the sheet records its dimension (as Excel does); write_only files do not.
    """
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("志愿者") if write_only else workbook.active
    if not write_only:
        sheet.title = "志愿者"
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(column) for column in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def make_row():
    """make_row(**cells) -> a valid row (unique mobile and ID number); keys are the Chinese column names."""

    def make(*, birth: date = date(2001, 3, 4), **cells) -> dict:
        n = next(_sequence)
        row = {
            "姓名": f"导入{n}",
            "手机号": f"158{n:08d}",
            "身份证号": demo_id_number(birth, n, region=f"{442000 + n // 1000}").value,
            "政治面貌": "共青团员",
            "紧急联系人": "王紧急",
            "紧急联系人手机": "13712345678",
        }
        row.update(cells)
        return row

    return make


@pytest.fixture
def skills(db):
    """A skill and two languages, as the catalogue holds them."""
    items = [
        factories.skill("急救", name_en="First aid"),
        factories.skill("粤语", "language", name_en="Cantonese"),
        factories.skill("英语", "language", name_en="English"),
    ]
    return {s.name: s for s in items}


@pytest.fixture
def town_admin(make_user, orgs, login):
    """An administrator of 南城街道, logged in on the default client."""
    admin = make_user(organization=orgs["nancheng"], role=Role.ADMIN, role_org=orgs["nancheng"])
    login(admin)
    return admin


@pytest.fixture
def xlsx():
    """xlsx(rows, columns=..., write_only=False) -> bytes of an .xlsx file."""
    return xlsx_bytes


@pytest.fixture
def upload(client):
    """upload(data, organization, filename=..., target=client) -> the response of POST /admin/import."""

    def post(data: bytes, organization, *, filename: str = "volunteers.xlsx", target=None):
        return (target or client).post(
            "/admin/import",
            data={"organization_id": str(organization.id), "file": (io.BytesIO(data), filename)},
            content_type="multipart/form-data",
        )

    return post


@pytest.fixture
def job_id_of():
    """job_id_of(response) -> the id of the job the upload redirected to."""

    def read(response) -> int:
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
        found = re.search(r"/admin/import/(\d+)$", response.headers["Location"])
        assert found, response.headers["Location"]
        return int(found.group(1))

    return read


@pytest.fixture
def run_upload(upload, job_id_of, db):
    """run_upload(rows_or_bytes, organization) -> the finished ImportJob (synchronous imports)."""
    from volunteers.imports.models import ImportJob

    def run(content, organization, **kw):
        data = content if isinstance(content, bytes) else xlsx_bytes(content)
        job_id = job_id_of(upload(data, organization, **kw))
        db.session.expire_all()
        return db.session.get(ImportJob, job_id)

    return run


@pytest.fixture(autouse=True)
def _join_import_threads(app):
    """Background imports started by a test have ended before its database goes away."""
    yield
    for thread in app.extensions.get("import_threads", []):
        thread.join(timeout=60)
        assert not thread.is_alive(), "an import thread did not finish"
