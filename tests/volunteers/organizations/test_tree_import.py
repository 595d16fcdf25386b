"""Importing an organization tree from Excel: the preview writes nothing, confirming writes all or nothing,
and the same file imported twice changes nothing the second time."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.audit import AuditLog
from volunteers.organizations.models import Organization

HEADER = ["上级", "名称", "类型", "代码", "简称"]
ROWS = [
    ["团市委", "共青团东莞市莞城街道委员会", "镇街团委", "GC", "莞城街道"],
    ["GC", "莞城街道第一团支部", "团支部", "GC-01", ""],
    ["团市委/莞城街道", "莞城街道青年志愿服务队", "志愿服务队", "GC-T", ""],
    ["GC-01", "莞城第一团支部志愿服务队", "志愿服务队", "", ""],
]


def _xlsx(rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "组织架构"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Organization))


def _preview(client, data: bytes):
    return client.post(
        "/admin/organizations/import",
        data={"file": (io.BytesIO(data), "tree.xlsx")},
        content_type="multipart/form-data",
    )


def _confirm(client, html: str):
    rows = re.search(r'name="rows" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="rows" name="rows" type="hidden" value="([^"]+)"', html
    )
    assert rows, html[:2000]
    return client.post("/admin/organizations/import/confirm", data={"rows": rows.group(1)})


def test_the_preview_lists_every_row_and_writes_nothing(db, login_as, people, orgs):
    client = login_as(people["city_admin"])
    before = _count(db)
    response = _preview(client, _xlsx(ROWS))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('<tr class="fate-create"') == 4
    assert "4 to add" in html and "Import 4 changes" in html
    assert _count(db) == before


def test_confirming_creates_the_tree_and_a_second_import_changes_nothing(db, login_as, people, orgs):
    client = login_as(people["city_admin"])
    before = _count(db)
    first = _preview(client, _xlsx(ROWS)).get_data(as_text=True)
    done = _confirm(client, first)
    assert done.status_code == 302
    assert _count(db) == before + 4
    town = db.session.scalar(select(Organization).where(Organization.code == "GC"))
    team = db.session.scalar(select(Organization).where(Organization.code == "GC-T"))
    deep = db.session.scalar(select(Organization).where(Organization.name == "莞城第一团支部志愿服务队"))
    assert town.parent_id == orgs["city"].id and team.parent_id == town.id
    assert deep.path.startswith(town.path) and deep.kind == "team"
    entries = db.session.scalar(select(func.count()).where(AuditLog.action == "organization.create"))
    assert entries == 4
    # the same file again: every row is already there
    audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
    again = _preview(client, _xlsx(ROWS)).get_data(as_text=True)
    assert again.count('<tr class="fate-unchanged"') == 4
    assert "nothing to import" in again and 'name="rows"' not in again
    replayed = _confirm(client, first)  # the first preview, sent again
    assert replayed.status_code == 302
    assert "nothing changed" in client.get("/admin/organizations").get_data(as_text=True)
    assert _count(db) == before + 4
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_before


def test_a_row_with_a_code_and_another_name_is_a_rename(db, login_as, people, orgs):
    client = login_as(people["city_admin"])
    _confirm(client, _preview(client, _xlsx(ROWS)).get_data(as_text=True))
    changed = [list(r) for r in ROWS]
    changed[2][1] = "莞城街道青年志愿者协会"
    html = _preview(client, _xlsx(changed)).get_data(as_text=True)
    assert html.count('<tr class="fate-rename"') == 1 and html.count('<tr class="fate-unchanged"') == 3
    assert _confirm(client, html).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Organization.name).where(Organization.code == "GC-T")) == "莞城街道青年志愿者协会"


def test_rows_in_error_block_the_whole_file(db, login_as, people, orgs):
    client = login_as(people["city_admin"])
    before = _count(db)
    rows = [
        *ROWS,
        ["不存在的上级", "某支部", "团支部", "", ""],
        ["GC-T", "队下面的支部", "团支部", "", ""],  # nothing goes below a team
        ["GC", "某队", "未知类型", "", ""],
        ["GC", "重复代码", "团支部", "GC-01", ""],
    ]
    response = _preview(client, _xlsx(rows))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count('<tr class="fate-error"') == 4
    assert "No organization 不存在的上级" in html and "Unknown kind 未知类型" in html and "appears twice" in html
    assert 'name="rows"' not in html  # no confirm button while a row is wrong
    assert _count(db) == before


def test_rows_outside_the_admins_subtree_are_errors(db, login_as, people, orgs):
    client = login_as(people["admin"])  # 南城's administrator
    html = _preview(
        client, _xlsx([["南城街道", "南城新支部", "团支部", "", ""], ["东城街道", "东城新支部", "团支部", "", ""]])
    )
    text = html.get_data(as_text=True)
    assert text.count('<tr class="fate-create"') == 1 and text.count('<tr class="fate-error"') == 1
    assert "outside the subtree you administer" in text


def test_a_tampered_or_foreign_confirm_is_refused(db, login_as, people, orgs):
    client = login_as(people["city_admin"])
    before = _count(db)
    assert client.post("/admin/organizations/import/confirm", data={"rows": "eyJ4Ijoi.bad.sig"}).status_code == 400
    assert _count(db) == before


def test_files_that_are_not_a_tree_are_refused_beside_the_file_field(db, login_as, people, orgs):
    client = login_as(people["city_admin"])
    for data, message in (
        (b"not a workbook at all", "not an Excel .xlsx"),
        (_xlsx([["a", "b", "c"]], header=["x", "y", "z"]), "missing: 上级、名称、类型"),
        (_xlsx([]), "holds no organizations"),
    ):
        response = _preview(client, data)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and message in html and 'id="field-file"' in html


def test_the_template_downloads_with_its_columns(login_as, people, orgs):
    response = login_as(people["city_admin"]).get("/admin/organizations/import/template.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in book["组织架构"][1]] == HEADER
    assert "填写说明" in book.sheetnames


def test_import_pages_are_for_administrators(login_as, people, orgs):
    assert login_as(people["coordinator"]).get("/admin/organizations/import").status_code == 403
    assert (
        login_as(people["nancheng_volunteer"])
        .post("/admin/organizations/import/confirm", data={"rows": "x"})
        .status_code
        == 403
    )
