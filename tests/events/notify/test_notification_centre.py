"""The notification centre: only the owner sees and marks, unread badge, rendering of each kind."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.permissions import Role
from notifications.models import Notification
from notifications.services import MESSAGES, notify, render, shift_params


@pytest.fixture
def send(db, now):
    """send(user, kind="assigned", minutes_ago=0, **params) -> Notification, committed."""

    def make(user, kind: str = "assigned", *, minutes_ago: int = 0, link: str = "/events/1", **params):
        notify(
            user.id,
            kind,
            params=params
            or {"event": "测试活动", "position": "引导", "starts_at": (now + timedelta(days=1)).isoformat()},
            link=link,
            now=now - timedelta(minutes=minutes_ago),
        )
        db.session.commit()
        return db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())
        ).first()

    return make


def _badge(html: str) -> str | None:
    match = re.search(r'class="badge count"[^>]*>(\d+)<', html)
    return match.group(1) if match else None


def test_list_shows_only_my_notifications_newest_first(client, login, volunteer, make_user, send):
    other = make_user()
    send(volunteer, "assigned", minutes_ago=30, event="漫博会", position="引导", starts_at="2026-05-01T01:00:00+00:00")
    send(
        volunteer,
        "reminder_2h",
        minutes_ago=5,
        event="漫博会",
        position="引导",
        starts_at="2026-05-01T01:00:00+00:00",
        place="1号馆",
    )
    send(other, "assigned", event="别人的活动", position="咨询台", starts_at="2026-05-02T01:00:00+00:00")
    login(volunteer)

    html = client.get("/notifications").get_data(as_text=True)

    assert "别人的活动" not in html
    assert html.index("Your shift starts soon") < html.index("You have a shift")
    assert "You are assigned to 漫博会 · 引导, starting 2026-05-01 09:00." in html  # shown in Asia/Shanghai
    assert html.count('class="notification unread"') == 2
    assert _badge(html) == "2"


def test_mark_one_read(db, client, login, volunteer, send):
    first, second = send(volunteer), send(volunteer)
    login(volunteer)

    response = client.post(f"/notifications/{first.id}/read")

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Notification, first.id).read_at is not None
    assert db.session.get(Notification, second.id).read_at is None
    html = client.get("/notifications").get_data(as_text=True)
    assert html.count('class="notification unread"') == 1 and _badge(html) == "1"


def test_open_marks_read_and_follows_only_local_links(db, client, login, volunteer, send):
    local = send(volunteer, link="/events/7")
    outside = send(volunteer, link="https://evil.example/phish")
    login(volunteer)

    followed = client.post(f"/notifications/{local.id}/read", data={"open": "1"})
    refused = client.post(f"/notifications/{outside.id}/read", data={"open": "1"})

    assert followed.headers["Location"] == "/events/7"
    assert refused.headers["Location"].startswith("/notifications")
    assert "evil.example" not in client.get("/notifications").get_data(as_text=True)


def test_another_user_cannot_mark_my_notification_read(db, client, make_client, login, volunteer, make_user, send):
    mine = send(volunteer)
    intruder = make_user()
    admin = make_user(role=Role.ADMIN)  # even an administrator: notifications are private
    for person in (intruder, admin):
        other_client = login(person, target=make_client())
        assert other_client.post(f"/notifications/{mine.id}/read").status_code == 404
        assert other_client.post(f"/notifications/{mine.id}/read", data={"open": "1"}).status_code == 404
        other_client.post("/notifications/read-all")

    db.session.expire_all()
    assert db.session.get(Notification, mine.id).read_at is None
    assert client.post("/notifications/999999/read").status_code in (302, 401)  # anonymous: to the login page
    login(volunteer)
    assert client.post("/notifications/999999/read").status_code == 404


def test_mark_all_read_touches_only_mine(db, client, login, volunteer, make_user, send):
    other = make_user()
    for _ in range(3):
        send(volunteer)
    theirs = send(other)
    login(volunteer)

    response = client.post("/notifications/read-all", follow_redirects=True)

    assert "Notifications marked as read: 3." in response.get_data(as_text=True)
    mine_unread = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == volunteer.id, Notification.read_at.is_(None))
    )
    assert mine_unread == 0
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None
    assert _badge(response.get_data(as_text=True)) is None


def test_notification_pages_need_login(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/notifications/read-all").status_code == 302


def test_pagination(client, login, volunteer, send):
    for minutes in range(25):
        send(volunteer, minutes_ago=minutes)
    login(volunteer)

    first = client.get("/notifications").get_data(as_text=True)
    second = client.get("/notifications?page=2").get_data(as_text=True)
    beyond = client.get("/notifications?page=9")

    assert first.count('<li class="notification') == 20 and "Page 1 of 2" in first
    assert second.count('<li class="notification') == 5
    assert beyond.status_code == 200


def test_badge_absent_for_anonymous_and_when_all_read(client, login, volunteer):
    assert _badge(client.get("/").get_data(as_text=True)) is None
    login(volunteer)
    html = client.get("/").get_data(as_text=True)
    assert _badge(html) is None and "/notifications" in html


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_every_kind_renders_without_placeholders_left(db, volunteer, make_shift, now, kind):
    shift = make_shift(meeting_point="南门")
    params = {
        **shift_params(shift),
        "credential": "急救培训合格",
        "expires_at": (now + timedelta(days=3)).isoformat(),
        "from_shift_start": now.isoformat(),
        # the hours area's kinds (hours/notices.py)
        "minutes": 90,
        "date": "2026-05-01",
        "volunteer": "张雨桐",
        "message": "少记了半小时",
        "answer": "已更正",
        # changes of affiliation (notifications/affiliation.py)
        "from": "南城街道志愿服务队",
        "to": "东城街道志愿者协会",
    }
    notify(volunteer.id, kind, params=params, now=now)
    notification = db.session.scalars(select(Notification)).one()

    title, body = render(notification)

    assert title and body
    assert "%(" not in title + body and "—" not in body


def test_other_services_parameter_spellings_and_unknown_kinds(db, volunteer, now):
    notify(
        volunteer.id,
        "cancelled",
        now=now,
        params={
            "event_title": "护河行动",
            "position_name": "巡河",
            "shift_start": "2026-05-01T01:00:00+00:00",
            "reason": "暴雨",
        },
    )
    notify(volunteer.id, "something_new", now=now, params={"event_title": "x"})
    cancelled, unknown = db.session.scalars(select(Notification).order_by(Notification.id)).all()

    assert render(cancelled) == (
        "Your shift was cancelled",
        "Your place on 护河行动 · 巡河, 2026-05-01 09:00, was cancelled. Reason: 暴雨",
    )
    assert render(unknown) == ("Notification", "x")  # a kind this module does not know yet: still readable


def test_permanent_credential_message(db, volunteer, now):
    notify(volunteer.id, "credential_granted", now=now, params={"credential": "手语基础", "expires_at": ""})

    _, body = render(db.session.scalars(select(Notification)).one())

    assert body == "You now hold the credential 手语基础. It does not expire."
