"""The roster export (.xlsx, opened with openpyxl) and the printable sign-in sheet."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook

from app.timeutil import to_local
from events.manage.roster import ROSTER_HEADERS
from events.signup import services as signup


@pytest.fixture
def roster_event(db, make_event, make_position, make_shift, make_user, local_time, place, now, orgs):
    event = make_event(title="中国志交会")
    guide = make_position(event, name="引导")
    desk = make_position(event, name="咨询台")
    day1 = make_shift(guide, starts_at=local_time(1, 9), capacity=2, meeting_point="东门广场")
    day2 = make_shift(desk, starts_at=local_time(2, 13, 30), capacity=1, meeting_point="二号馆")
    people = {
        "wang": make_user(name="王小红", mobile="13811112222"),
        "zhao": make_user(name="赵大伟", mobile="13833334444", organization=orgs["nancheng_branch"]),
        "qian": make_user(name="钱多多", mobile="13855556666"),
        "sun": make_user(name="孙悟空", mobile="13877778888"),
    }
    place(day1, people["wang"])
    gone = place(day1, people["sun"])
    place(day2, people["zhao"])
    signup.sign_up(day2, people["qian"], now=now, join_waitlist=True)
    db.session.commit()
    return event, guide, desk, day1, day2, people, gone


def download(client, event, query=""):
    response = client.get(f"/events/{event.id}/staffing/roster.xlsx{query}")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(BytesIO(response.data), read_only=True).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_roster_export_has_the_header_and_one_row_per_assignment(db, roster_event, coordinator, as_user, now):
    event, _guide, _desk, day1, day2, people, gone = roster_event
    signup.unassign(gone, by=coordinator, now=now, reason="临时有事")  # cancelled places are not on the roster
    db.session.commit()
    rows = download(as_user(coordinator), event)
    assert rows[0] == ROSTER_HEADERS
    assert len(rows) == 1 + 3
    start1, end1 = to_local(day1.starts_at), to_local(day1.ends_at)
    wang = people["wang"]
    first = rows[1]
    assert first[0] == "引导" and first[1].date() == start1.date()
    assert first[2:] == (
        start1.strftime("%H:%M"),
        end1.strftime("%H:%M"),
        "东门广场",
        "王小红",
        wang.volunteer_number,
        "13811112222",
        "南城街道志愿服务队",
        "已排班",
    )
    by_name = {row[5]: row for row in rows[1:]}
    assert set(by_name) == {"王小红", "赵大伟", "钱多多"}
    assert by_name["赵大伟"][8] == "南城阳光社区团支部" and by_name["赵大伟"][9] == "已排班"
    assert by_name["钱多多"][9] == "候补" and by_name["钱多多"][2] == "13:30"
    assert by_name["钱多多"][1].date() == to_local(day2.starts_at).date()


def test_roster_export_by_day_and_by_position(roster_event, coordinator, as_user):
    event, guide, _desk, _day1, day2, _people, _gone = roster_event
    client = as_user(coordinator)
    day = to_local(day2.starts_at).date().isoformat()
    rows = download(client, event, f"?day={day}")
    assert [r[5] for r in rows[1:]] == ["赵大伟", "钱多多"]
    rows = download(client, event, f"?position={guide.id}")
    assert sorted(r[5] for r in rows[1:]) == ["孙悟空", "王小红"]
    assert client.get(f"/events/{event.id}/staffing/roster.xlsx?day=not-a-day").status_code == 400


def test_roster_and_sheet_are_for_the_event_coordinator_only(roster_event, volunteer, outsider, as_user):
    event = roster_event[0]
    for user in (volunteer, outsider):
        client = as_user(user)
        assert client.get(f"/events/{event.id}/staffing/roster.xlsx").status_code == 403
        assert client.get(f"/events/{event.id}/staffing/sign-in-sheet").status_code == 403


def test_sign_in_sheet_lists_the_assigned_volunteers(roster_event, coordinator, as_user):
    event, _guide, _desk, _day1, day2, _people, _gone = roster_event
    response = as_user(coordinator).get(f"/events/{event.id}/staffing/sign-in-sheet")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="/static/css/print.css" media="print"' in html
    assert html.count('<table class="sign-in">') == 2 and html.count('<td class="signature"></td>') == 3
    for name in ("王小红", "孙悟空", "赵大伟"):
        assert name in html
    assert "钱多多" not in html  # waitlisted: not expected on site
    assert "138****2222" in html and "13811112222" not in html
    assert html.index("王小红") < html.index("赵大伟")  # day 1 before day 2
    day = to_local(day2.starts_at).date().isoformat()
    html = as_user(coordinator).get(f"/events/{event.id}/staffing/sign-in-sheet?day={day}").get_data(as_text=True)
    assert "赵大伟" in html and "王小红" not in html
