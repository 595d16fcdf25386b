"""Hours reports: the numbers of a small known data set, the chart data, the .xlsx export, and refusals."""

from __future__ import annotations

import io
import json
import re

import pytest
from openpyxl import load_workbook

from hours.reports.services import build_report
from tests.support import local

H1_2026 = {"period_start": "2026-01-01", "period_end": "2026-06-30"}


@pytest.fixture
def data(cast, orgs, make_event, credit):
    """Verified, pending and rejected hours around 南城街道 and 东城街道 in the first half of 2026.

    南城 organizes: community 阳光助残 (Jan), expo (Feb), river patrol 青春情暖 by its team (Mar).
    东城 organizes a community service (Feb) where a 南城 volunteer also served.
    """
    vol, other, east = cast["volunteer"], cast["other_volunteer"], cast["dongcheng_volunteer"]
    community = make_event(local(2026, 1, 10), brand_tag="阳光助残")
    expo = make_event(local(2026, 2, 14), kind="expo")
    patrol = make_event(
        local(2026, 3, 21), kind="river_patrol", brand_tag="青春情暖", organization=orgs["nancheng_team"]
    )
    east_event = make_event(local(2026, 2, 20), organization=orgs["dongcheng"], brand_tag="阳光助残")
    credit(vol, community, local(2026, 1, 10, 9), 90)
    credit(other, community, local(2026, 1, 10, 9), 60)
    credit(vol, expo, local(2026, 2, 14, 9), 120)
    credit(other, patrol, local(2026, 3, 21, 9), 180)
    credit(vol, patrol, local(2026, 3, 21, 14), 30, status="submitted")
    credit(other, expo, local(2026, 2, 14, 14), 45, status="rejected")
    credit(vol, make_event(local(2026, 4, 2)), local(2026, 4, 2, 9), 300, status="recorded")
    credit(east, east_event, local(2026, 2, 20, 9), 240, submitter=cast["dongcheng_coordinator"])
    credit(vol, east_event, local(2026, 2, 20, 14), 60, submitter=cast["dongcheng_coordinator"])
    credit(vol, make_event(local(2025, 12, 28)), local(2025, 12, 28, 9), 600)  # before the period
    return cast


def _period():
    return (local(2026, 1, 1).date(), local(2026, 6, 30).date())


def test_report_numbers_of_a_known_data_set(db, orgs, data):
    report = build_report(orgs["nancheng"], period=_period())
    assert report.total_minutes == 90 + 60 + 120 + 180
    assert report.scan_minutes == 450 and report.backfill_minutes == 0
    assert report.active_volunteers == 2
    assert dict(report.by_kind) == {"community": 150, "expo": 120, "river_patrol": 180}
    assert [kind for kind, _m in report.by_kind] == ["river_patrol", "community", "expo"]
    assert report.by_brand == [("青春情暖", 180), ("阳光助残", 150), ("", 120)]
    assert report.monthly == [
        ("2026-01", 150),
        ("2026-02", 120),
        ("2026-03", 180),
        ("2026-04", 0),
        ("2026-05", 0),
        ("2026-06", 0),
    ]
    assert [(v["name"], v["minutes"]) for v in report.top_volunteers] == [("李四", 240), ("张三桐", 210)]


def test_report_by_affiliation_counts_service_anywhere(db, orgs, data):
    report = build_report(orgs["nancheng"], period=_period(), basis="affiliation")
    assert report.total_minutes == 90 + 60 + 120 + 180 + 60  # 张三桐 also served at 东城's event
    assert [(v["name"], v["minutes"]) for v in report.top_volunteers] == [("张三桐", 270), ("李四", 240)]
    city = build_report(orgs["city"], period=_period())
    assert city.total_minutes == 450 + 240 + 60
    assert city.active_volunteers == 3
    assert dict(city.by_brand) == {"阳光助残": 450, "青春情暖": 180, "": 120}
    team = build_report(orgs["nancheng_team"], period=_period())
    assert team.total_minutes == 180 and dict(team.by_kind) == {"river_patrol": 180}


def test_report_page_shows_numbers_and_chart_data(client_of, orgs, data):
    client = client_of(data["reviewer"])
    response = client.get("/hours/reports/", query_string={"organization": orgs["nancheng"].id, **H1_2026})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r'class="stat-total">7.5<', page) and re.search(r'class="stat-active">2<', page)
    chart = json.loads(re.search(r"data-chart='([^']*)'", page).group(1).replace("&#34;", '"'))
    assert chart["labels"] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert chart["values"] == [2.5, 2.0, 3.0, 0, 0, 0]
    assert "vendor/chart.js/chart.umd.min.js" in page and "js/charts.js" in page
    assert "<script>" not in page  # nothing inline (CSP)
    assert "李四" in page and "阳光助残" in page and "River patrol" in page
    assert client.get("/hours/reports/").status_code == 200  # the form alone


def test_xlsx_export_has_the_right_rows(client_of, orgs, data):
    client = client_of(data["reviewer"])
    response = client.get("/hours/reports/export.xlsx", query_string={"organization": orgs["nancheng"].id, **H1_2026})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["Summary", "By kind", "By brand", "By month", "Top volunteers"]
    rows = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    summary = {row[0]: row[1] for row in rows["Summary"]}
    assert summary["Organization"] == "南城街道" and summary["Verified hours"] == 7.5
    assert summary["Active volunteers"] == 2
    assert rows["By kind"] == [
        ("Event kind", "Hours"),
        ("River patrol", 3),
        ("Community service", 2.5),
        ("Large event / expo", 2),
    ]
    assert rows["By brand"] == [("Brand", "Hours"), ("青春情暖", 3), ("阳光助残", 2.5), ("No brand", 2)]
    assert rows["By month"][1:4] == [("2026-01", 2.5), ("2026-02", 2), ("2026-03", 3)]
    assert [row[:2] + row[4:] for row in rows["Top volunteers"]] == [
        ("Rank", "Name", "Hours"),
        (1, "李四", 4),
        (2, "张三桐", 3.5),
    ]


def test_report_refusals(client_of, orgs, data):
    query = {"organization": orgs["nancheng"].id, **H1_2026}
    volunteer = client_of(data["volunteer"])
    assert volunteer.get("/hours/reports/", query_string=query).status_code == 403
    assert volunteer.get("/hours/reports/export.xlsx", query_string=query).status_code == 403
    sibling = client_of(data["dongcheng_reviewer"])
    assert sibling.get("/hours/reports/", query_string=query).status_code == 403
    assert sibling.get("/hours/reports/export.xlsx", query_string=query).status_code == 403
    reviewer = client_of(data["reviewer"])
    assert reviewer.get("/hours/reports/", query_string={**query, "organization": orgs["city"].id}).status_code == 403
    assert reviewer.get("/hours/reports/", query_string={**query, "organization": 99999}).status_code == 404
    bad = reviewer.get("/hours/reports/", query_string={**query, "period_start": "2026-07-01"})
    assert bad.status_code == 422 and "The period must end on or after its first day." in bad.get_data(as_text=True)
    assert reviewer.get("/hours/reports/", query_string={**query, "period_start": "nope"}).status_code == 422
    assert reviewer.get("/hours/reports/", query_string={**query, "basis": "nope"}).status_code == 422
    assert reviewer.get("/hours/reports/export.xlsx", query_string={"organization": "x"}).status_code == 404
    page = sibling.get("/hours/reports/").get_data(as_text=True)
    assert "东城街道" in page and "南城街道" not in page.split("<select")[1].split("</select>")[0]


def test_my_year_chart_counts_only_verified_hours(client_of, data):
    client = client_of(data["volunteer"])
    body = client.get("/hours/my-year.json?year=2026").get_json()
    assert body["labels"][0] == "2026-01" and len(body["values"]) == 12
    assert body["values"][:4] == [1.5, 3.0, 0, 0]  # Feb: 120 at the expo + 60 at 东城; pending/recorded not counted
    assert body["total_hours"] == 4.5
    assert client.get("/hours/my-year.json?year=2025").get_json()["values"][11] == 10
    assert client.get("/hours/my-year.json?year=1").status_code == 400
    other = client_of(data["other_volunteer"]).get("/hours/my-year.json?year=2026").get_json()
    assert other["total_hours"] == 4.0


def test_year_chart_partial_for_the_hours_page(app):
    from flask import render_template_string

    with app.test_request_context("/hours/?lang=en"):
        html = render_template_string(
            '{% include "hours/_year_chart.html" %}{% include "hours/_chart_scripts.html" %}',
            year=2025,
            has_role=lambda *roles: False,
        )
    assert 'data-chart-src="/hours/my-year.json?year=2025"' in html
    assert "vendor/chart.js/chart.umd.min.js" in html and "js/charts.js" in html and "<script>" not in html


def test_vendored_chart_library_is_served(client):
    response = client.get("/static/vendor/chart.js/chart.umd.min.js")
    assert response.status_code == 200 and b"Chart.js v4" in response.data[:200]
    response.close()


def test_hours_page_carries_the_year_chart(client_of, data):
    page = client_of(data["volunteer"]).get("/hours/?year=2026").get_data(as_text=True)
    assert 'data-chart-src="/hours/my-year.json?year=2026"' in page and "js/charts.js" in page
    assert 'href="/hours/certificates/"' in page and 'href="/hours/reports/"' not in page
    staff_page = client_of(data["reviewer"]).get("/hours/").get_data(as_text=True)
    assert 'href="/hours/reports/"' in staff_page and 'href="/hours/certificates/manage"' in staff_page
