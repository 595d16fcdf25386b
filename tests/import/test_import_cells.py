"""How cells are read: headers with required-marks, numbers typed into text columns, list separators."""

from __future__ import annotations

from datetime import datetime

import pytest

from volunteers.imports.rows import cell_text, normalize_header, split_list


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("姓名*", "姓名"),
        (" 手机号（必填） ", "手机号"),
        ("语言(选填)", "语言"),
        ("＊身份证号", "身份证号"),
    ],
)
def test_headers_lose_their_required_marks(raw, expected):
    assert normalize_header(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, ""),
        (13800138000, "13800138000"),
        (13800138000.0, "13800138000"),
        ("  张三\u3000", "张三"),
        (datetime(2024, 9, 1, 0, 0), "2024-09-01"),
    ],
)
def test_cells_read_as_text(raw, expected):
    assert cell_text(raw) == expected


def test_lists_split_on_the_usual_separators():
    assert split_list("急救、摄影，驾驶; 粤语 英语") == ["急救", "摄影", "驾驶", "粤语", "英语"]
    assert split_list("") == []


def test_marked_headers_and_loose_cells_import(db, orgs, town_admin, skills, make_row, xlsx, run_upload):
    columns = ["姓名*", "手机号*", "身份证号*", "政治面貌*", "紧急联系人*", "紧急联系人手机*", "语言"]
    row = make_row()
    cells = {
        "姓名*": row["姓名"],
        "手机号*": float(row["手机号"]),
        "身份证号*": row["身份证号"].lower(),
        "政治面貌*": " 共青团员 ",
        "紧急联系人*": "王紧急",
        "紧急联系人手机*": "137-1234-5678",
        "语言": "粤语，english",
    }
    job = run_upload(xlsx([cells], columns=columns), orgs["nancheng"])
    assert (job.status, job.rows_imported, job.rows_rejected) == ("done", 1, 0), job.rejected_rows
