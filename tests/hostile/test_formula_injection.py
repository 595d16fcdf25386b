"""Formula injection: text that other people typed reaches every spreadsheet the system writes as text.

Names, titles, places, team and segment names and import rows start with each character a spreadsheet
program runs as a formula (= + - @, a tab, a carriage return); every export is downloaded over HTTP by
the staff member allowed to, and its sheet XML is read as written: no cell has a formula (<f>), the
planted texts are there verbatim as string cells, and numbers and dates are still typed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from xml.etree import ElementTree

import pytest
from openpyxl import Workbook

from app.security import demo_id_number
from app.spreadsheets import FORMULA_PREFIXES, Spreadsheet, csv_value, looks_like_formula, write_csv
from app.timeutil import local_today, utcnow
from events.models import Assignment
from hours.membership.models import EligibilityVerification
from volunteers.accounts import roles
from volunteers.imports.importer import SHEET_TITLE, create_job
from volunteers.imports.jobs import run_import
from volunteers.imports.rows import COLUMNS

ACTIVIST = "入团积极分子"
HYPERLINK = '=HYPERLINK("http://x","y")'
#: one text for each leading character a spreadsheet program treats as the start of a formula
HOSTILE = ("=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", HYPERLINK)
TEAM_NAME = "-1+1南城街道志愿服务队"
BRANCH_NAME = "=1+1南城阳光社区团支部"
POSITION_NAME = HYPERLINK
MEETING_POINT = "\t=1+1 东门"
EVENT_TITLE = "=1+1 敌意测试活动"
EVENT_PLACE = "\r=1 南城街道鸿福路"
BRAND = "+1+1 青春情暖"
RIVER, SEGMENT = HYPERLINK, "-1+1 敌意测试段"
FINDING = "@SUM(A1) 桥下漂浮塑料袋"

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
M = "{" + NS["m"] + "}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
DATE_FORMAT_IDS = set(range(14, 23)) | set(range(45, 48))  # Excel's built-in date and time formats


# -- reading a workbook as written ---------------------------------------------------------------------------


@dataclass
class XCell:
    ref: str
    type: str  # the t attribute ("n" when absent)
    formula: bool
    text: str | None  # the string of a string cell, the <v> of any other
    style: int

    @property
    def column(self) -> str:
        return re.match(r"[A-Z]+", self.ref).group(0)

    @property
    def row(self) -> int:
        return int(re.search(r"\d+", self.ref).group(0))


def _parse(raw: bytes) -> ElementTree.Element:
    # XML folds a raw carriage return into a line feed when parsing; keep it as it was written.
    return ElementTree.fromstring(raw.replace(b"\r", b"&#13;"))


def _string(node: ElementTree.Element | None) -> str:
    return "" if node is None else "".join(t.text or "" for t in node.iter(f"{M}t"))


@dataclass
class XBook:
    sheets: dict[str, list[XCell]]
    raw: dict[str, bytes]
    date_styles: set[int]

    def rows(self, title: str) -> dict[int, dict[str, XCell]]:
        rows: dict[int, dict[str, XCell]] = {}
        for cell in self.sheets[title]:
            rows.setdefault(cell.row, {})[cell.column] = cell
        return rows

    def column(self, title: str, header: str) -> list[XCell]:
        """The cells below the header cell holding `header` in the first row."""
        rows = self.rows(title)
        [letter] = [c.column for c in rows[1].values() if c.text == header]
        return [row[letter] for number, row in sorted(rows.items()) if number > 1 and letter in row]

    def strings(self) -> set[str]:
        return {c.text for cells in self.sheets.values() for c in cells if c.type in ("inlineStr", "s") and c.text}


def read_xlsx(data: bytes) -> XBook:
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    shared = []
    if "xl/sharedStrings.xml" in names:
        shared = [_string(si) for si in _parse(archive.read("xl/sharedStrings.xml")).iter(f"{M}si")]
    styles = _parse(archive.read("xl/styles.xml"))
    custom_dates = {
        int(f.get("numFmtId"))
        for f in styles.iter(f"{M}numFmt")
        if re.search(r"[ymdhs]", re.sub(r'"[^"]*"|\[[^\]]*\]', "", f.get("formatCode", "").lower()))
    }
    xfs = styles.find("m:cellXfs", NS)
    date_styles = {
        index
        for index, xf in enumerate(xfs if xfs is not None else [])
        if int(xf.get("numFmtId", 0)) in DATE_FORMAT_IDS | custom_dates
    }
    targets = {
        r.get("Id"): r.get("Target").lstrip("/").removeprefix("xl/")
        for r in _parse(archive.read("xl/_rels/workbook.xml.rels"))
    }
    sheets, raw = {}, {}
    for sheet in _parse(archive.read("xl/workbook.xml")).iter(f"{M}sheet"):
        path = "xl/" + targets[sheet.get(REL)]
        raw[sheet.get("name")] = archive.read(path)
        cells = []
        for c in _parse(raw[sheet.get("name")]).iter(f"{M}c"):
            kind = c.get("t", "n")
            value = c.find("m:v", NS)
            if kind == "inlineStr":
                text = _string(c.find("m:is", NS))
            elif kind == "s":
                text = shared[int(value.text)]
            else:
                text = value.text if value is not None else None
            cells.append(XCell(c.get("r"), kind, c.find("m:f", NS) is not None, text, int(c.get("s", 0))))
        sheets[sheet.get("name")] = cells
    return XBook(sheets, raw, date_styles)


def assert_no_formulas(book: XBook) -> None:
    for title, cells in book.sheets.items():
        assert b"<f>" not in book.raw[title] and b"<f " not in book.raw[title], title
        assert not [c.ref for c in cells if c.formula or c.type in ("e", "str")], title


def assert_holds_as_text(book: XBook, texts) -> None:
    missing = set(texts) - book.strings()
    assert not missing, f"not written as string cells: {sorted(missing)}"


def assert_numbers(cells: list[XCell]) -> None:
    assert cells, "no cells below the header"
    for cell in cells:
        assert cell.type == "n" and not cell.formula, cell
        float(cell.text)


def assert_dates(book: XBook, cells: list[XCell]) -> None:
    assert cells, "no cells below the header"
    for cell in cells:
        assert cell.type == "n" and cell.style in book.date_styles, cell
        float(cell.text)


def download(response) -> XBook:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    return read_xlsx(response.data)


# -- the writer itself ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("write_only", [True, False])
def test_the_writer_keeps_every_formula_like_text_a_string(write_only):
    texts = [*HOSTILE, "#N/A", "=", "普通文字"]
    spreadsheet = Spreadsheet(write_only=write_only)
    sheet = spreadsheet.add_sheet("表" * 40, header=["text", "int", "float", "date", "datetime", "bool", "none"])
    for text in texts:
        sheet.append([text, -5, 2.5, date(2026, 5, 1), datetime(2026, 5, 1, 9, 30), True, None])
    book = read_xlsx(spreadsheet.to_bytes())
    assert list(book.sheets) == ["表" * 31]
    assert_no_formulas(book)
    rows = book.rows("表" * 31)
    assert [rows[n]["A"].text for n in range(2, 2 + len(texts))] == texts
    assert {rows[n]["A"].type for n in rows} == {"inlineStr"}
    assert_numbers(book.column("表" * 31, "int") + book.column("表" * 31, "float"))
    assert [c.text for c in book.column("表" * 31, "int")] == ["-5"] * len(texts)
    assert_dates(book, book.column("表" * 31, "date") + book.column("表" * 31, "datetime"))
    assert {c.type for c in book.column("表" * 31, "bool")} == {"b"}
    assert all(row["G"].text is None for number, row in rows.items() if "G" in row and number > 1)  # None: empty


def test_plain_openpyxl_would_have_written_a_formula():
    """What the writer is for: the checks above do see a formula written the ordinary way."""
    workbook = Workbook(write_only=True)
    workbook.create_sheet("x").append([HYPERLINK])
    buffer = io.BytesIO()
    workbook.save(buffer)
    book = read_xlsx(buffer.getvalue())
    assert [c.formula for c in book.sheets["x"]] == [True]
    with pytest.raises(AssertionError):
        assert_no_formulas(book)


def test_the_writer_streams_in_memory_or_spooled():
    for spool_over in (None, 10):
        spreadsheet = Spreadsheet()
        spreadsheet.add_sheet("x", widths={"A": 16}, header=["a"]).extend([["=1"], [2]])
        with spreadsheet.to_stream(spool_over=spool_over) as stream:
            assert stream.tell() == 0
            book = read_xlsx(stream.read())
        assert [(c.type, c.text) for c in book.sheets["x"]] == [("inlineStr", "a"), ("inlineStr", "=1"), ("n", "2")]
        assert b'width="16"' in book.raw["x"]


def test_csv_gets_a_single_quote_before_formula_like_text():
    assert FORMULA_PREFIXES == ("=", "+", "-", "@", "\t", "\r")
    for text in HOSTILE:
        assert looks_like_formula(text) and csv_value(text) == "'" + text
    for value in ("普通文字", "a=1", "", -5, 2.5, date(2026, 5, 1), None, True):
        assert not looks_like_formula(value) and csv_value(value) == value
    out = io.StringIO(newline="")
    write_csv(out, [["name", "n"], *[[text, -5] for text in HOSTILE], ["陈小明", 3]])
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == ["name", "n"] and rows[-1] == ["陈小明", "3"]
    assert rows[1:-1] == [["'" + text, "-5"] for text in HOSTILE]


# -- every export of the system -------------------------------------------------------------------------------


def _hostile_import(db, orgs, admin, now) -> tuple[list[str], list[str]]:
    """Import rows into 南城's team: applicants whose names start like formulas, and rows rejected for their
    mobile number whose names do too. Returns (imported names, rejected names) as the importer keeps them
    (trimmed). The upload is written as Excel would save typed text, through the writer."""
    spreadsheet = Spreadsheet()
    sheet = spreadsheet.add_sheet(SHEET_TITLE, header=COLUMNS)
    imported, rejected = [], []
    for n, text in enumerate(HOSTILE):
        for ok in (True, False):
            name = f"{text}导入{n}{'' if ok else '退回'}"
            cells = {
                "姓名": name,
                "手机号": f"1581234{n}{int(ok)}00" if ok else "=1+1",
                "身份证号": demo_id_number(date(2001, 3, 4), 100 + 2 * n + ok, region="442001").value,
                "政治面貌": ACTIVIST,
                "紧急联系人": text + "紧急",
                "紧急联系人手机": "13712345678",
                "成为入团积极分子日期": date(2024, 9, 1),
            }
            sheet.append([cells.get(column) for column in COLUMNS])
            (imported if ok else rejected).append(name.strip())
    data = spreadsheet.to_bytes()
    job = create_job(by=admin, scope=orgs["nancheng_team"], file_name="敌意.xlsx", data=data, now=now)
    db.session.commit()
    assert run_import(job.id, data, now=now) == "done"
    db.session.refresh(job)
    assert job.rows_imported == len(imported), job.rejected_rows
    assert sorted(e["name"] for e in job.rejected_rows) == sorted(rejected)
    return imported, rejected


@pytest.fixture
def hostile(db, orgs, make_user, staffed_event, actors, hours_records, past_service, patrol_records):
    """Texts that start like formulas in every field an export carries: the 南城 team's and branch's names,
    volunteers (applicants, on the event's roster, approved for the national export), the event, its
    position and meeting point, a brand, a river segment and its finding, and imported rows. (No export
    carries the event's title and place or the finding's description today; every cell is checked anyway.)"""
    now = utcnow()
    for org, name in ((orgs["nancheng_team"], TEAM_NAME), (orgs["nancheng_branch"], BRANCH_NAME)):
        org.name = org.short_name = name
    event, shift = staffed_event["event"], staffed_event["shift"]
    event.title, event.place = EVENT_TITLE, EVENT_PLACE
    staffed_event["position"].name = POSITION_NAME
    shift.meeting_point = MEETING_POINT
    past_service["event"].brand_tag = BRAND
    segment = patrol_records["segment"]
    segment.river_name, segment.name = RIVER, SEGMENT
    patrol_records["finding"].description = FINDING
    owner = staffed_event["owner"]
    owner.name = HOSTILE[0]
    applicants = []
    for text in HOSTILE:
        person = make_user(
            political_status=ACTIVIST, activist_since=date(2024, 1, 10), organization=orgs["nancheng_team"]
        )
        person.name = text
        db.session.add(
            Assignment(
                shift_id=shift.id,
                user_id=person.id,
                starts_at=shift.starts_at,
                ends_at=shift.ends_at,
                status="assigned",
                source="coordinator",
            )
        )
        applicants.append(person)
    db.session.flush()
    today = local_today(now)
    for person in applicants:  # approved today by 南城街道 (what the national export reads)
        db.session.add(
            EligibilityVerification(
                applicant_id=person.id,
                verified_by_id=actors["reviewer@own"].id,
                organization_id=orgs["nancheng"].id,
                verified_at=now,
                approved=True,
                note="",
                activist_since=person.activist_since,
                months=24,
                theory_minutes=12 * 45,
                service_minutes=20 * 60,
                period_start=date(today.year, 1, 1),
                period_end=date(today.year, 12, 31),
            )
        )
    db.session.commit()
    imported, rejected = _hostile_import(db, orgs, actors["admin@own"], now)
    return {"imported": imported, "rejected": rejected, "today": today}


def test_the_roster_writes_names_positions_and_places_as_text(hostile, staffed_event, actors, login, make_client):
    client = login(actors["coordinator@own"], target=make_client())
    book = download(client.get(f"/events/{staffed_event['event'].id}/staffing/roster.xlsx"))
    assert list(book.sheets) == ["排班表"]
    assert_no_formulas(book)
    assert_holds_as_text(book, [*HOSTILE, POSITION_NAME, MEETING_POINT, TEAM_NAME])
    assert len(book.column("排班表", "姓名")) == 1 + len(HOSTILE)  # the owner and the planted applicants
    assert_dates(book, book.column("排班表", "班次日期"))


def test_the_membership_applicant_list_writes_names_as_text(hostile, actors, login, make_client):
    client = login(actors["reviewer@own"], target=make_client())
    book = download(client.get("/hours/membership/applicants.xlsx"))
    [title] = book.sheets
    assert_no_formulas(book)
    assert_holds_as_text(book, [*HOSTILE, *hostile["imported"], TEAM_NAME])
    assert {c.text for c in book.column(title, "Name")} >= {*HOSTILE, *hostile["imported"]}
    assert_dates(book, book.column(title, "Activist since"))
    assert_numbers(book.column(title, "Months") + book.column(title, "Verified service hours"))


def test_the_league_export_writes_names_as_text(hostile, actors, login, make_client):
    client = login(actors["admin@own"], target=make_client())
    book = download(client.post("/hours/membership/approved.xlsx", data={"since": hostile["today"].isoformat()}))
    assert list(book.sheets) == ["新团员"]
    assert_no_formulas(book)
    assert_holds_as_text(book, [*HOSTILE, TEAM_NAME])
    assert_numbers(book.column("新团员", "团前教育学时") + book.column("新团员", "志愿服务时长"))
    # its dates are text on purpose: typed into the national system as written
    assert {c.text for c in book.column("新团员", "审核通过日期")} == {hostile["today"].isoformat()}


def test_the_hours_report_writes_names_and_brands_as_text(hostile, orgs, past_service, actors, login, make_client):
    client = login(actors["reviewer@own"], target=make_client())
    served = past_service["shift"].starts_at.date()
    query = {
        "organization": orgs["nancheng"].id,
        "period_start": (served - timedelta(days=40)).isoformat(),
        "period_end": (served + timedelta(days=40)).isoformat(),
    }
    book = download(client.get("/hours/reports/export.xlsx", query_string=query))
    assert list(book.sheets) == ["Summary", "By kind", "By brand", "By month", "Top volunteers"]
    assert_no_formulas(book)
    assert_holds_as_text(book, [HOSTILE[0], BRAND, TEAM_NAME])
    summary = book.rows("Summary")
    assert [summary[n]["A"].text for n in (2, 3)] == ["From", "To"]
    assert_dates(book, [summary[2]["B"], summary[3]["B"]])
    assert_numbers(book.column("Top volunteers", "Hours") + book.column("Top volunteers", "Rank"))


def test_the_patrol_committee_export_writes_segments_and_teams_as_text(
    hostile, orgs, patrol_records, actors, login, make_client
):
    client = login(actors["reviewer@own"], target=make_client())
    month = f"{patrol_records['patrol'].local_date:%Y-%m}"
    query = {"organization": orgs["nancheng"].id, "month_from": month, "month_to": month}
    book = download(client.get("/patrols/committee/export.xlsx", query_string=query))
    assert list(book.sheets) == ["Summary", "Patrols", "Findings"]
    assert_no_formulas(book)
    assert_holds_as_text(book, [RIVER, SEGMENT, TEAM_NAME])
    summary = book.rows("Summary")
    assert_dates(book, [summary[2]["B"], summary[3]["B"]])
    assert_numbers(book.column("Patrols", "Patrols planned") + book.column("Patrols", "Findings"))


def test_the_import_template_writes_the_organization_as_text(hostile, actors, login, make_client):
    admin = actors["admin@own"]
    example = roles.administered_organizations(admin)[-1].name
    assert example == BRANCH_NAME  # the last of them in tree order
    client = login(admin, target=make_client())
    response = client.get("/admin/import/template")
    assert "volunteer-import-template.xlsx" in response.headers["Content-Disposition"]
    book = download(response)
    assert list(book.sheets) == [SHEET_TITLE, "Notes"]
    assert_no_formulas(book)
    assert_holds_as_text(book, [example])
    assert [c.text for c in book.rows(SHEET_TITLE)[1].values()] == COLUMNS


def test_rejected_import_rows_are_shown_as_text(hostile, actors, login, make_client, db):
    """Rejected rows have no download: their page shows them, escaped like any text."""
    from sqlalchemy import select

    from volunteers.imports.models import ImportJob

    job = db.session.scalars(select(ImportJob).where(ImportJob.file_name == "敌意.xlsx")).one()
    page = login(actors["admin@own"], target=make_client()).get(f"/admin/import/{job.id}").get_data(as_text=True)
    assert page.count('class="rejected-rows"') == 1
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)导入6退回" in page
