"""The volunteer's badge: their own rotating QR code, name and volunteer number, and nobody else's."""

from __future__ import annotations

from datetime import timedelta

from app.timeutil import utcnow
from checkin.qr import qr_svg
from checkin.tokens import badge_token, window_seconds


def _possible(user_id, at):
    step = timedelta(seconds=window_seconds())
    return {qr_svg(badge_token(user_id, now=t)) for t in (at - step, at, at + step)}


def test_the_badge_page_shows_the_volunteers_name_number_and_rotating_code(as_user, volunteer, page_text):
    response = as_user(volunteer).get("/checkin/badge")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="badge-mode"' in html
    text = page_text(response)
    assert "陈小明" in text and volunteer.volunteer_number in text and "changes every 30 seconds" in text
    assert 'src="/checkin/badge/qr.svg"' in html and 'src="/static/js/badge.js"' in html
    assert "<script>" not in html and "style=" not in html


def test_the_badge_qr_is_the_current_users_own_token(as_user, volunteer, make_user):
    other = make_user(name="别人")
    before = utcnow()
    response = as_user(volunteer).get("/checkin/badge/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-store"
    assert 0 <= float(response.headers["X-QR-Rotates-In"]) <= window_seconds()
    assert response.data in _possible(volunteer.id, before)
    assert response.data not in _possible(other.id, before)
    # no parameter makes it show someone else's badge
    assert as_user(volunteer).get(f"/checkin/badge/qr.svg?user_id={other.id}").data in _possible(volunteer.id, before)
    assert other.name not in as_user(volunteer).get(f"/checkin/badge?user_id={other.id}").get_data(as_text=True)
