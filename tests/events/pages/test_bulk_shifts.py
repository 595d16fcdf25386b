"""Bulk shift creation by pattern: the preview is exactly what is saved, in local time, fast."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.timeutil import LOCAL_TZ, to_local
from events.models import Shift


def month_end_after(today: date) -> date:
    """The last day of the month after `today`'s month."""
    first_of_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return (first_of_next + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@pytest.fixture
def expo(make_event, make_position, now):
    """A draft expo over a month end: from the day before the month's last day to 03:00 three days after it."""
    month_end = month_end_after(to_local(now).date())
    starts = datetime.combine(month_end - timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ)
    ends = datetime.combine(month_end + timedelta(days=3), datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(hours=3)
    event = make_event(kind="expo", status="draft", starts_at=starts, ends_at=ends, signup_closes_at=starts)
    guide = make_position(event, name="引导")
    interpreter = make_position(event, name="翻译")
    return {"event": event, "guide": guide, "interpreter": interpreter, "month_end": month_end}


def preview_rows(page: str) -> list[tuple[str, str, str, int]]:
    """(position, local start, local end, headcount) rows of the preview list."""
    table = page[page.index('<table class="bulk-list">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(\d+)</td></tr>", table)
    return [(p, s, e, int(n)) for p, s, e, n in rows]


def saved_rows(db, event) -> list[tuple[str, str, str, int]]:
    shifts = db.session.scalars(
        select(Shift).where(Shift.event_id == event.id).order_by(Shift.starts_at, Shift.position_id)
    ).all()
    return [
        (
            s.position.name,
            to_local(s.starts_at).strftime("%Y-%m-%d %H:%M"),
            to_local(s.ends_at).strftime("%Y-%m-%d %H:%M"),
            s.capacity,
        )
        for s in shifts
    ]


def pattern(expo, **overrides) -> dict:
    data = {
        "position_ids": [str(expo["guide"].id), str(expo["interpreter"].id)],
        "first_day": (expo["month_end"] - timedelta(days=1)).isoformat(),
        "last_day": (expo["month_end"] + timedelta(days=2)).isoformat(),
        "weekdays": [str(d) for d in range(7)],
        "time_slots": "06:00-09:00\n22:00-02:00",
        "default_headcount": "3",
        f"headcount_{expo['interpreter'].id}": "5",
        "meeting_point": "展馆东门",
    }
    data.update(overrides)
    return data


def test_preview_matches_what_is_saved_across_a_month_end(db, coordinator_client, expo):
    event, month_end = expo["event"], expo["month_end"]
    response = coordinator_client.post(f"/events/{event.id}/shifts/bulk", data=pattern(expo, action="preview"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Shifts to create: 16, with 64 places in all." in page
    previewed = preview_rows(page)
    assert len(previewed) == 16
    assert db.session.scalar(select(func.count(Shift.id))) == 0  # a preview writes nothing
    # local dates and times straddle the month end and midnight
    next_month_first = (month_end + timedelta(days=1)).isoformat()
    assert ("引导", f"{month_end.isoformat()} 22:00", f"{next_month_first} 02:00", 3) in previewed
    assert ("翻译", f"{next_month_first} 06:00", f"{next_month_first} 09:00", 5) in previewed
    expected = re.search(r'name="expected_count" type="hidden" value="(\d+)"', page) or re.search(
        r'name="expected_count" value="(\d+)"', page
    )
    saved = coordinator_client.post(
        f"/events/{event.id}/shifts/bulk", data=pattern(expo, action="save", expected_count=expected.group(1))
    )
    assert saved.status_code == 302
    assert sorted(saved_rows(db, event)) == sorted(previewed)
    stored = db.session.scalars(select(Shift).where(Shift.event_id == event.id)).all()
    assert {s.meeting_point for s in stored} == {"展馆东门"}
    # stored in UTC: 06:00 Beijing is 22:00 UTC of the day before
    early = min(stored, key=lambda s: s.starts_at)
    assert early.starts_at.utcoffset() == timedelta(0) and early.starts_at.hour == 22
    assert to_local(early.starts_at).date() == month_end - timedelta(days=1)


def test_existing_shifts_are_skipped_and_a_stale_preview_is_rechecked(db, coordinator_client, expo, make_shift):
    event, month_end = expo["event"], expo["month_end"]
    data = pattern(
        expo,
        position_ids=[str(expo["guide"].id)],
        time_slots="06:00-09:00",
        last_day=(month_end - timedelta(days=1)).isoformat(),
    )
    page = coordinator_client.post(f"/events/{event.id}/shifts/bulk", data={**data, "action": "preview"})
    assert "Shifts to create: 1, with 3 places in all." in page.get_data(as_text=True)
    # someone creates the same shift meanwhile: saving the old preview is refused and re-previewed
    day = month_end - timedelta(days=1)
    make_shift(
        expo["guide"],
        starts_at=datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(hours=6),
        ends_at=datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(hours=9),
    )
    stale = coordinator_client.post(
        f"/events/{event.id}/shifts/bulk", data={**data, "action": "save", "expected_count": "1"}
    )
    text = stale.get_data(as_text=True)
    assert stale.status_code == 422
    assert "have changed since the preview" in text
    assert "Shifts of this pattern that exist already and will be skipped: 1." in text
    assert db.session.scalar(select(func.count(Shift.id))) == 1


def test_weekdays_limit_the_days(db, coordinator_client, expo):
    event, month_end = expo["event"], expo["month_end"]
    chosen = month_end.weekday()
    data = pattern(expo, position_ids=[str(expo["guide"].id)], time_slots="06:00-09:00", weekdays=[str(chosen)])
    page = coordinator_client.post(f"/events/{event.id}/shifts/bulk", data={**data, "action": "preview"})
    rows = preview_rows(page.get_data(as_text=True))
    assert [r[1] for r in rows] == [f"{month_end.isoformat()} 06:00"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"time_slots": "8点到12点"}, "Write each time slot like 08:00-12:00"),
        ({"time_slots": "25:00-26:00"}, "is not a time of day"),
        ({"position_ids": []}, "Choose at least one position."),
        ({"weekdays": []}, "Choose at least one weekday."),
        ({"time_slots": "01:00-05:00", "last_day": "+3"}, "Shifts outside the event&#39;s time"),
    ],
)
def test_bad_patterns_are_refused_beside_the_field(db, coordinator_client, expo, overrides, message):
    event = expo["event"]
    data = pattern(expo, action="preview", **overrides)
    if data["last_day"] == "+3":  # the event ends at 03:00 that day, the slot at 05:00
        data["last_day"] = (expo["month_end"] + timedelta(days=3)).isoformat()
    response = coordinator_client.post(
        f"/events/{event.id}/shifts/bulk", data={k: v for k, v in data.items() if v != []}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Shift.id))) == 0


def test_thousands_of_shifts_are_saved_with_a_few_statements(
    db, coordinator_client, make_event, make_position, now, count_queries
):
    today = to_local(now).date()
    starts = datetime.combine(today + timedelta(days=10), datetime.min.time(), tzinfo=LOCAL_TZ)
    event = make_event(
        kind="expo", status="draft", starts_at=starts, ends_at=starts + timedelta(days=30), signup_closes_at=starts
    )
    positions = [make_position(event, name=f"岗位{i}") for i in range(40)]
    data = {
        "position_ids": [str(p.id) for p in positions],
        "first_day": starts.date().isoformat(),
        "last_day": (starts.date() + timedelta(days=24)).isoformat(),
        "weekdays": [str(d) for d in range(7)],
        "time_slots": "08:00-12:00, 12:00-17:00, 17:00-21:00",
        "default_headcount": "4",
        "action": "preview",
    }
    preview = coordinator_client.post(f"/events/{event.id}/shifts/bulk", data=data)
    assert "Shifts to create: 3000, with 12000 places in all." in preview.get_data(as_text=True)
    with count_queries() as counted:
        saved = coordinator_client.post(
            f"/events/{event.id}/shifts/bulk", data={**data, "action": "save", "expected_count": "3000"}
        )
    assert saved.status_code == 302
    assert db.session.scalar(select(func.count(Shift.id))) == 3000
    assert counted["n"] < 60  # one multi-row INSERT per batch, not one per shift


def test_volunteers_and_other_coordinators_cannot_bulk_create(
    db, volunteer_client, expo, make_user, make_client, login, orgs
):
    from app.permissions import Role

    event = expo["event"]
    assert volunteer_client.get(f"/events/{event.id}/shifts/bulk").status_code == 403
    other = login(make_user(role=Role.COORDINATOR, role_org=orgs["dongcheng"]), target=make_client())
    assert (
        other.post(
            f"/events/{event.id}/shifts/bulk", data=pattern(expo, action="save", expected_count="16")
        ).status_code
        == 403
    )
    assert db.session.scalar(select(func.count(Shift.id))) == 0
