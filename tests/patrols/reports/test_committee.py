"""The committee view: numbers for a small known data set, subtrees and months, the .xlsx export, refusals."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from checkin.models import Attendance
from hours.ledger import services as ledger
from hours.review.verification import submit_entries, verify_entry
from patrols.reports import services as reports
from patrols.reports.committee import build_committee_report, month_period


@pytest.fixture
def data(db, orgs, people, make_user, make_segment, make_patrol, put_on_patrol, now):
    """Three segments: A (南城's team) and B (lying in 南城, adopted by 东莞理工's team), C (东城, outside 南城).

    A, September: 09-05 checked out (120 verified minutes), 09-12 report only, 09-19 still checked in (not done),
       09-26 cancelled (not planned); report of 09-12: rubbish (resolved), sewage outfall (forwarded).
    A, October: 10-03 checked out (hours recorded, not verified), 10-10 nothing; report of 10-03: rubbish (reported).
    B, September: 09-06 checked out; report: damaged facility (reported).
    C, September: 09-05 checked out.
    """
    dgut_chief = make_user(name="郑河长", organization=orgs["dgut_team"])
    a = make_segment()
    b = make_segment(river="寒溪河", team=orgs["dgut_team"], chief=dgut_chief)
    c = make_segment(
        river="黄沙河", team=orgs["dongcheng_team"], town=orgs["dongcheng"], chief=people["other_team_volunteer"]
    )
    patrols = {
        day: make_patrol(a, date(2026, m, day_of_month))
        for day, (m, day_of_month) in {
            "a0905": (9, 5),
            "a0912": (9, 12),
            "a0919": (9, 19),
            "a1003": (10, 3),
            "a1010": (10, 10),
        }.items()
    }
    make_patrol(a, date(2026, 9, 26), cancelled=True)
    patrols["b0906"] = make_patrol(b, date(2026, 9, 6))
    patrols["c0905"] = make_patrol(c, date(2026, 9, 5))
    volunteer = people["patroller"]
    put_on_patrol(volunteer, patrols["a0905"], minutes=120)
    put_on_patrol(people["teammate"], patrols["a0919"], closed=False)
    put_on_patrol(volunteer, patrols["a1003"])
    put_on_patrol(make_user(name="理工队员", organization=orgs["dgut_team"]), patrols["b0906"])
    put_on_patrol(people["other_team_volunteer"], patrols["c0905"])

    attendance = db.session.scalar(select(Attendance).where(Attendance.shift_id == patrols["a0905"].shift_id))
    (entry,) = ledger.record_attendance(attendance, now=now)
    submit_entries(entry.event, by=people["team_coordinator"], now=now)
    verify_entry(entry, by=people["town_reviewer"], now=now)

    chief = people["chief"]
    september = reports.file_report(
        patrols["a0912"], summary="", uploads=[], by=chief, now=now, finding=reports.FindingData("rubbish", "塑料袋")
    )
    sewage = reports.add_finding(september, reports.FindingData("sewage_outfall", "排污口"), [], by=chief, now=now)
    reports.resolve_finding(september.findings[0], note="已清理", by=chief, now=now)
    reports.forward_finding(sewage, to="南城街道河长办", note="", by=chief, now=now)
    reports.file_report(
        patrols["a1003"], summary="", uploads=[], by=chief, now=now, finding=reports.FindingData("rubbish", "泡沫")
    )
    reports.file_report(
        patrols["b0906"],
        summary="",
        uploads=[],
        by=dgut_chief,
        now=now,
        finding=reports.FindingData("damaged_facility", "护栏损坏"),
    )
    db.session.commit()
    return {"a": a, "b": b, "c": c}


def _rows(report):
    return [
        (r.segment.river_name, r.month, r.planned, r.done, r.minutes, r.by_status, r.by_category) for r in report.rows
    ]


def test_numbers_of_a_town_over_two_months(orgs, data):
    report = build_committee_report(orgs["nancheng"], period=month_period((2026, 9), (2026, 10)))
    assert _rows(report) == [
        ("东莞运河", "2026-09", 3, 2, 120, {"resolved": 1, "forwarded": 1}, {"rubbish": 1, "sewage_outfall": 1}),
        ("东莞运河", "2026-10", 2, 1, 0, {"reported": 1}, {"rubbish": 1}),
        ("寒溪河", "2026-09", 1, 1, 0, {"reported": 1}, {"damaged_facility": 1}),
    ]
    assert (report.segments, report.planned, report.done, report.hours, report.findings) == (2, 6, 4, 2.0, 4)
    assert report.matrix == {
        ("rubbish", "resolved"): 1,
        ("sewage_outfall", "forwarded"): 1,
        ("rubbish", "reported"): 1,
        ("damaged_facility", "reported"): 1,
    }
    assert report.category_total("rubbish") == 2 and report.status_total("reported") == 2


def test_subtrees_and_months_narrow_the_view(orgs, data):
    dgut = build_committee_report(orgs["dgut"], period=month_period((2026, 9), (2026, 10)))
    assert [(r.segment.river_name, r.month, r.planned, r.done) for r in dgut.rows] == [("寒溪河", "2026-09", 1, 1)]
    september = build_committee_report(orgs["city"], period=month_period((2026, 9), (2026, 9)))
    assert [(r.segment.river_name, r.planned, r.done) for r in september.rows] == [
        ("东莞运河", 3, 2),
        ("寒溪河", 1, 1),
        ("黄沙河", 1, 1),
    ]
    assert september.segments == 3 and september.findings == 3
    assert build_committee_report(orgs["nancheng"], period=month_period((2026, 11), (2026, 12))).rows == []


def test_the_page_shows_the_numbers_to_a_reviewer_of_the_town(client, login, people, orgs, data):
    login(people["town_reviewer"])
    assert client.get("/patrols/committee").status_code == 200
    response = client.get(
        "/patrols/committee",
        query_string={"organization": orgs["nancheng"].id, "month_from": "2026-09", "month_to": "2026-10"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'id="row-{data["a"].id}-2026-09"' in page and f'id="row-{data["c"].id}-2026-09"' not in page
    assert '<strong class="stat-done">4 / 6</strong>' in page
    assert '<strong class="stat-hours">2</strong>' in page
    assert "from the hours ledger" in page


def test_the_export_opens_with_the_right_rows(client, login, people, orgs, data):
    login(people["town_coordinator"])
    response = client.get(
        "/patrols/committee/export.xlsx",
        query_string={"organization": orgs["nancheng"].id, "month_from": "2026-09", "month_to": "2026-10"},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"river-patrols-{orgs['nancheng'].id}-202609-202610.xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    assert workbook.sheetnames == ["Summary", "Patrols", "Findings"]
    rows = list(workbook["Patrols"].iter_rows(values_only=True))
    assert rows[0][:9] == (
        "River",
        "Segment",
        "Town or street",
        "Adopting team",
        "Month",
        "Patrols planned",
        "Patrols done",
        "Verified patrol hours",
        "Findings",
    )
    assert rows[0][9:] == (
        "Reported",
        "Forwarded",
        "Resolved",
        "Rubbish",
        "Sewage outfall",
        "Damaged facility",
        "Illegal fishing",
        "Other",
    )
    a, b = data["a"], data["b"]
    assert rows[1:] == [
        ("东莞运河", a.name, "南城街道", "南城街道志愿服务队", "2026-09", 3, 2, 2, 2, 0, 1, 1, 1, 1, 0, 0, 0),
        ("东莞运河", a.name, "南城街道", "南城街道志愿服务队", "2026-10", 2, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0),
        ("寒溪河", b.name, "南城街道", "东莞理工学院青年志愿者协会", "2026-09", 1, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0),
    ]
    matrix = list(workbook["Findings"].iter_rows(values_only=True))
    assert matrix[0] == ("Category", "Reported", "Forwarded", "Resolved", "Total")
    assert matrix[1:] == [
        ("Rubbish", 1, 0, 1, 2),
        ("Sewage outfall", 0, 1, 0, 1),
        ("Damaged facility", 1, 0, 0, 1),
        ("Illegal fishing", 0, 0, 0, 0),
        ("Other", 0, 0, 0, 0),
    ]
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True) if len(row) > 1}
    assert (summary["Patrols planned"], summary["Patrols done"], summary["Verified patrol hours"]) == (6, 4, 2)
    workbook.close()


@pytest.mark.parametrize(
    "who, status", [("patroller", 403), ("chief", 403), ("outside_coordinator", 403), ("branch_coordinator", 403)]
)
def test_the_view_is_refused_outside_ones_subtree(client, login, people, orgs, data, who, status):
    login(people[who])
    query = {"organization": orgs["nancheng"].id, "month_from": "2026-09", "month_to": "2026-10"}
    assert client.get("/patrols/committee", query_string=query).status_code == status
    assert client.get("/patrols/committee/export.xlsx", query_string=query).status_code == status


def test_bad_months_re_render_the_form(client, login, people, orgs, data):
    login(people["town_reviewer"])
    for months, message in (
        (("2026-13", "2026-10"), "Write the month as YYYY-MM"),
        (("2026-10", "2026-09"), "The last month must not come before the first."),
        (("2020-01", "2026-10"), "Choose at most 36 months."),
    ):
        query = {"organization": orgs["nancheng"].id, "month_from": months[0], "month_to": months[1]}
        response = client.get("/patrols/committee", query_string=query)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        assert client.get("/patrols/committee/export.xlsx", query_string=query).status_code == 422
    assert (
        client.get(
            "/patrols/committee", query_string={"organization": 999999, "month_from": "2026-09", "month_to": "2026-10"}
        ).status_code
        == 404
    )
