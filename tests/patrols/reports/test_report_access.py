"""Only the adopting team, its river chief and coordinators over the team see reports; only those on the patrol
(or leading or coordinating it) file and change them. Everyone else is refused, and nothing changes."""

from __future__ import annotations

import io
from datetime import date

import pytest

from patrols.reports import photos
from patrols.reports import services as reports
from tests.patrols.reports.helpers import jpeg_bytes

READERS = ["chief", "patroller", "teammate", "team_coordinator", "town_coordinator", "city_admin"]
OUTSIDERS = ["other_team_volunteer", "branch_volunteer", "outside_coordinator", "town_reviewer", "branch_coordinator"]
EDITORS = ["chief", "patroller", "team_coordinator", "town_coordinator", "city_admin"]


@pytest.fixture
def filed(db, people, segment, patrol, make_patrol, put_on_patrol, now):
    """A filed report with one photographed finding; the patroller and (a walk-in) 东城 volunteer were on the patrol;
    a second past patrol has no report yet."""
    put_on_patrol(people["patroller"], patrol)
    put_on_patrol(people["other_team_volunteer"], patrol)
    report = reports.file_report(
        patrol,
        summary="巡查两公里",
        by=people["chief"],
        now=now,
        finding=reports.FindingData("illegal_fishing", "有人在禁渔区用电鱼设备"),
        uploads=[photos.Upload(jpeg_bytes((400, 300)), "fish.jpg")],
    )
    db.session.commit()
    second = make_patrol(segment, date(2026, 10, 17))
    put_on_patrol(people["patroller"], second)
    put_on_patrol(people["other_team_volunteer"], second)
    finding = report.findings[0]
    return {"report": report, "finding": finding, "photo": finding.photos[0], "second": second, "segment": segment}


def _pages(filed) -> dict[str, str]:
    return {
        "report": f"/patrols/reports/{filed['report'].id}",
        "photo": f"/patrols/photos/{filed['photo'].id}",
        "history": f"/patrols/segments/{filed['segment'].id}/reports",
    }


@pytest.mark.parametrize("who", READERS)
def test_the_team_its_chief_and_coordinators_above_read_reports(client, login, people, filed, who):
    login(people[who])
    for name, url in _pages(filed).items():
        assert client.get(url).status_code == 200, (who, name)
    segment_page = client.get(f"/patrols/segments/{filed['segment'].id}").get_data(as_text=True)
    assert 'id="patrol-history"' in segment_page and 'id="open-findings"' in segment_page
    assert "有人在禁渔区用电鱼设备" in segment_page and "陈巡河" in segment_page


@pytest.mark.parametrize("who", OUTSIDERS)
def test_everyone_else_is_refused_even_a_volunteer_of_another_team_who_walked_in(
    client, login, people, filed, who, stored
):
    login(people[who])
    for name, url in _pages(filed).items():
        assert client.get(url).status_code == 403, (who, name)
    segment_page = client.get(f"/patrols/segments/{filed['segment'].id}")
    assert segment_page.status_code == 200  # the segment itself is public to signed-in users ...
    page = segment_page.get_data(as_text=True)
    assert 'id="patrol-history"' not in page and "有人在禁渔区用电鱼设备" not in page  # ... its reports are not
    second = filed["second"]
    assert client.get(f"/patrols/patrols/{second.id}/report").status_code == 403
    assert (
        client.post(
            f"/patrols/patrols/{second.id}/report", data={"category": "rubbish", "description": "垃圾"}
        ).status_code
        == 403
    )
    report_id, finding_id = filed["report"].id, filed["finding"].id
    assert (
        client.post(
            f"/patrols/reports/{report_id}/findings", data={"category": "rubbish", "description": "垃圾"}
        ).status_code
        == 403
    )
    assert client.post(f"/patrols/reports/{report_id}/summary", data={"summary": "改"}).status_code == 403
    assert client.get(f"/patrols/findings/{finding_id}/edit").status_code == 403
    assert client.post(f"/patrols/photos/{filed['photo'].id}/delete").status_code == 403
    assert stored() == (1, 1, 1, 1)


@pytest.mark.parametrize("who", EDITORS)
def test_those_on_the_patrol_its_chief_and_coordinators_file_and_edit(db, client, login, people, filed, who, stored):
    login(people[who])
    second = filed["second"]
    assert client.get(f"/patrols/patrols/{second.id}/report").status_code == 200
    response = client.post(
        f"/patrols/patrols/{second.id}/report",
        content_type="multipart/form-data",
        data={"category": "rubbish", "description": "桥下漂浮垃圾", "photos": [(io.BytesIO(jpeg_bytes()), "a.jpg")]},
    )
    assert response.status_code == 302
    assert client.get(f"/patrols/findings/{filed['finding'].id}/edit").status_code == 200
    summary = client.post(f"/patrols/reports/{filed['report'].id}/summary", data={"summary": "巡查三公里"})
    assert summary.status_code == 302
    assert stored() == (2, 2, 2, 2)


def test_a_teammate_who_was_not_on_the_patrol_reads_but_does_not_file(client, login, people, filed, stored):
    login(people["teammate"])
    page = client.get(f"/patrols/reports/{filed['report'].id}").get_data(as_text=True)
    assert "Add a finding" not in page and "Change this finding" not in page
    second = filed["second"]
    assert client.get(f"/patrols/patrols/{second.id}/report").status_code == 403
    assert (
        client.post(
            f"/patrols/reports/{filed['report'].id}/findings", data={"category": "rubbish", "description": "垃圾"}
        ).status_code
        == 403
    )
    history = client.get(f"/patrols/segments/{filed['segment'].id}/reports").get_data(as_text=True)
    assert "File a report" not in history
    assert stored() == (1, 1, 1, 1)


def test_the_patroller_sees_a_file_button_for_the_unreported_patrol(client, login, people, filed):
    login(people["patroller"])
    history = client.get(f"/patrols/segments/{filed['segment'].id}/reports").get_data(as_text=True)
    assert f"/patrols/patrols/{filed['second'].id}/report" in history
    assert "2026-10-17" in history and "2026-10-10" in history


def test_anonymous_visitors_are_sent_to_log_in(client, filed):
    for url in _pages(filed).values():
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_ids_are_404(client, login, people, filed):
    login(people["chief"])
    for url in (
        "/patrols/reports/999999",
        "/patrols/photos/999999",
        "/patrols/findings/999999/edit",
        "/patrols/patrols/999999/report",
        "/patrols/segments/999999/reports",
    ):
        assert client.get(url).status_code == 404, url
