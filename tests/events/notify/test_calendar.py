"""The private .ics feed: exactly the volunteer's shifts, valid RFC 5545 text, a secret and resettable URL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.audit import AuditLog
from events.calendar.feed import escape_text, fold
from events.models import AssignmentStatus, Event, EventStatus, Shift


def _unfold(body: str) -> list[str]:
    """Content lines with folding undone (RFC 5545 3.1)."""
    return body.replace("\r\n ", "").split("\r\n")


def _uids(body: str) -> list[str]:
    return [line[4:] for line in _unfold(body) if line.startswith("UID:")]


def _feed(client, user):
    return client.get(f"/calendar/{user.calendar_token}.ics")


def test_feed_lists_exactly_the_volunteers_assigned_shifts(
    db, client, volunteer, make_user, make_position, make_shift, make_assignment, local_time, now
):
    position = make_position(name="咨询台")
    mine = make_shift(position, starts_at=local_time(1, 9), meeting_point="东门, 2号岗; 集合")
    done = make_shift(position, starts_at=local_time(-3, 9))
    waitlisted = make_shift(position, starts_at=local_time(2, 9))
    cancelled_by_me = make_shift(position, starts_at=local_time(3, 9))
    cancelled_shift = make_shift(position, starts_at=local_time(4, 9))
    someone_elses = make_shift(position, starts_at=local_time(5, 9))
    make_assignment(volunteer, mine)
    make_assignment(volunteer, done, status=AssignmentStatus.COMPLETED.value)
    make_assignment(volunteer, waitlisted, status=AssignmentStatus.WAITLISTED.value)
    make_assignment(volunteer, cancelled_by_me, status=AssignmentStatus.CANCELLED.value)
    make_assignment(volunteer, cancelled_shift)
    make_assignment(make_user(), someone_elses)
    db.session.execute(update(Shift).where(Shift.id == cancelled_shift.id).values(is_cancelled=True))
    db.session.commit()

    response = _feed(client, volunteer)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert body.endswith("END:VCALENDAR\r\n")
    assert sorted(_uids(body)) == sorted(
        f"shift-{shift.id}-volunteer-{volunteer.id}@localhost" for shift in (mine, done)
    )
    lines = _unfold(body)
    start = mine.starts_at.strftime("%Y%m%dT%H%M%SZ")
    assert f"DTSTART:{start}" in lines
    assert f"DTEND:{mine.ends_at.strftime('%Y%m%dT%H%M%SZ')}" in lines
    assert f"SUMMARY:{mine.event.title} · 咨询台" in lines
    assert "LOCATION:东门\\, 2号岗\\; 集合" in lines


def test_feed_leaves_out_cancelled_events(db, client, volunteer, make_shift, make_assignment):
    shift = make_shift()
    make_assignment(volunteer, shift)
    db.session.execute(update(Event).where(Event.id == shift.event_id).values(status=EventStatus.CANCELLED.value))
    db.session.commit()

    body = _feed(client, volunteer).get_data(as_text=True)

    assert "BEGIN:VEVENT" not in body and "END:VCALENDAR" in body


def test_feed_is_well_formed_and_stable(client, volunteer, make_event, make_position, make_shift, make_assignment):
    event = make_event(
        title="2026中国（东莞）国际动漫节·漫博会志愿服务" * 3, place="广东现代国际展览中心", description="x"
    )
    shift = make_shift(make_position(event, name="引导"), meeting_point="1号馆\n南门")
    make_assignment(volunteer, shift)

    first = _feed(client, volunteer).get_data(as_text=True)
    second = _feed(client, volunteer).get_data(as_text=True)

    raw_lines = first.split("\r\n")
    assert raw_lines[-1] == "" and "\n" not in first.replace("\r\n", "")
    assert all(len(line.encode("utf-8")) <= 75 for line in raw_lines)
    assert any(line.startswith(" ") for line in raw_lines)  # the long summary was folded
    assert _uids(first) == _uids(second)
    unfolded = _unfold(first)
    for required in ("BEGIN:VEVENT", "END:VEVENT", "STATUS:CONFIRMED"):
        assert required in unfolded
    assert "LOCATION:1号馆\\n南门" in unfolded
    assert any(line.startswith("DTSTAMP:") and line.endswith("Z") for line in unfolded)


def test_wrong_or_malformed_token_is_404(client, volunteer, make_shift, make_assignment):
    make_assignment(volunteer, make_shift())

    assert client.get("/calendar/" + "A" * 22 + ".ics").status_code == 404
    assert client.get("/calendar/short.ics").status_code == 404
    assert client.get(f"/calendar/{volunteer.calendar_token}x.ics").status_code == 404
    assert client.get(f"/calendar/{volunteer.calendar_token[:-1]}%25.ics").status_code == 404


def test_disabled_account_has_no_feed(db, client, volunteer):
    volunteer.is_disabled = True
    db.session.commit()

    assert _feed(client, volunteer).status_code == 404


def test_reset_changes_the_feed_url(db, client, login, volunteer, make_shift, make_assignment):
    make_assignment(volunteer, make_shift())
    old_token = volunteer.calendar_token
    login(volunteer)
    page = client.get("/calendar")
    assert page.status_code == 200
    assert f"/calendar/{old_token}.ics" in page.get_data(as_text=True)

    response = client.post("/calendar/reset", data={"next": "/calendar"})

    assert response.status_code == 302 and response.headers["Location"] == "/calendar"
    db.session.refresh(volunteer)
    assert volunteer.calendar_token != old_token and len(volunteer.calendar_token) == 22
    assert client.get(f"/calendar/{old_token}.ics").status_code == 404
    new_feed = _feed(client, volunteer)
    assert new_feed.status_code == 200 and new_feed.get_data(as_text=True).count("BEGIN:VEVENT") == 1
    assert f"/calendar/{volunteer.calendar_token}.ics" in client.get("/calendar").get_data(as_text=True)
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.actor_id == volunteer.id)).all()
    assert "calendar.reset_token" in actions


def test_reset_refuses_an_outside_redirect_and_needs_login(client, login, volunteer):
    anonymous = client.post("/calendar/reset")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

    login(volunteer)
    response = client.post("/calendar/reset", data={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/calendar"


def test_my_shifts_page_shows_the_calendar_link(client, login, volunteer):
    login(volunteer)

    page = client.get("/events/my-shifts")

    assert page.status_code == 200
    assert f"/calendar/{volunteer.calendar_token}.ics" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "raw, escaped",
    [
        ("a,b;c\\d", "a\\,b\\;c\\\\d"),
        ("line1\r\nline2\nline3", "line1\\nline2\\nline3"),
        ("bell\x07gone", "bellgone"),
    ],
)
def test_text_escaping(raw, escaped):
    assert escape_text(raw) == escaped


def test_folding_never_splits_a_character():
    line = "SUMMARY:" + "志愿服务" * 30
    folded = fold(line)

    pieces = folded.split("\r\n")
    assert len(pieces) > 1
    assert all(len(piece.encode("utf-8")) <= 75 for piece in pieces)
    assert all(piece.startswith(" ") for piece in pieces[1:])
    assert folded.replace("\r\n ", "") == line
    assert fold("SHORT:x") == "SHORT:x"


def test_feed_leaves_out_shifts_long_past(client, volunteer, make_shift, make_assignment, now):
    old = make_shift(starts_at=now - timedelta(days=200))
    make_assignment(volunteer, old, status=AssignmentStatus.COMPLETED.value)

    assert "BEGIN:VEVENT" not in _feed(client, volunteer).get_data(as_text=True)
