"""Who may open the coordinator's check-in pages: the event's coordinators and administrators above it only."""

from __future__ import annotations

import pytest

GET_PAGES = [
    "/checkin/events/{event}",
    "/checkin/events/{event}/kiosk",
    "/checkin/events/{event}/kiosk?shift_id={shift}",
    "/checkin/events/{event}/kiosk/qr.svg",
    "/checkin/events/{event}/kiosk/status.json",
    "/checkin/events/{event}/scanner",
    "/checkin/events/{event}/attendance",
    "/checkin/events/{event}/dashboard",
    "/checkin/events/{event}/dashboard.json",
]
POST_PAGES = [
    ("/checkin/events/{event}/manual", {"mobile": "13900000000", "reason": "手机没电"}),
]


def _paths(event, shift):
    return [path.format(event=event.id, shift=shift.id) for path in GET_PAGES]


def test_anonymous_visitors_are_sent_to_the_login_page(client, event, shift):
    for path in [*_paths(event, shift), "/checkin/badge", "/checkin/badge/qr.svg", "/checkin/kiosk"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


@pytest.mark.parametrize("who", ["volunteer", "outsider"])
def test_volunteers_and_coordinators_of_other_organizations_get_403(who, request, as_user, event, shift):
    user = as_user(request.getfixturevalue(who))
    for path in _paths(event, shift):
        assert user.get(path).status_code == 403, path
    for path, data in POST_PAGES:
        assert user.post(path.format(event=event.id), data=data).status_code == 403, path


@pytest.mark.parametrize("who", ["coordinator", "city_admin"])
def test_the_events_coordinators_and_administrators_above_it_open_every_page(who, request, as_user, event, shift):
    user = as_user(request.getfixturevalue(who))
    for path in _paths(event, shift):
        response = user.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store"


def test_unknown_events_and_shifts_of_another_event_are_404(
    as_user, coordinator, event, make_event, make_position, make_shift
):
    other_shift = make_shift(make_position(make_event(title="别的活动")))
    user = as_user(coordinator)
    assert user.get("/checkin/events/999999/kiosk").status_code == 404
    assert user.get(f"/checkin/events/{event.id}/kiosk?shift_id={other_shift.id}").status_code == 404
    assert user.get(f"/checkin/events/{event.id}/kiosk/qr.svg?shift_id=abc").status_code == 404
    assert user.get("/checkin/events/999999/dashboard.json").status_code == 404


def test_pages_link_to_check_in_for_those_who_run_it(as_user, coordinator, volunteer, event, shift, page_text):
    manager = as_user(coordinator)
    manage_page = manager.get(f"/events/{event.id}/manage").get_data(as_text=True)
    assert f'href="/checkin/events/{event.id}"' in manage_page
    hub = manager.get(f"/checkin/events/{event.id}")
    text = page_text(hub)
    assert "Kiosk for the whole event" in text and "Scan badges" in text and "Live dashboard" in text
    assert f'<option value="{shift.id}">' in hub.get_data(as_text=True)
    # every logged-in user finds their badge in the navigation
    home = as_user(volunteer).get("/").get_data(as_text=True)
    assert 'href="/checkin/badge"' in home and "My badge" in home
