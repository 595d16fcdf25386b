"""Check-in pages in Chromium with short (3-second) token windows: the badge's code really rotates, the live
dashboard refreshes itself, and none of the pages breaks the Content Security Policy."""
from __future__ import annotations

import importlib.util
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.models import Role
from app.timeutil import utcnow
from checkin.services import scan_kiosk
from checkin.tokens import kiosk_token, parse_kiosk_token
from events.models import Assignment, AssignmentStatus

pytestmark = pytest.mark.browser


def _events_factories():
    path = Path(__file__).resolve().parents[1] / "events" / "conftest.py"
    spec = importlib.util.spec_from_file_location("checkin_pages_browser_events_factories", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_factories = _events_factories()
now = _factories.now
local_time = _factories.local_time
make_event = _factories.make_event
make_position = _factories.make_position
make_shift = _factories.make_shift


@pytest.fixture
def app_overrides():
    """CSRF on (as for every browser test) and codes that rotate every 3 seconds."""
    return {"WTF_CSRF_ENABLED": True, "CHECKIN_TOKEN_WINDOW_SECONDS": 3}


@pytest.fixture
def site(db, make_user, orgs, make_event, make_position, make_shift, now):
    coordinator = make_user(name="黄队长", organization=orgs["nancheng"], role=Role.COORDINATOR,
                            role_org=orgs["nancheng"])
    volunteer = make_user(name="陈小明")
    event = make_event(title="南城文明交通劝导", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8))
    shift = make_shift(make_position(event, name="路口引导"), starts_at=now - timedelta(minutes=30),
                       ends_at=now + timedelta(hours=3))
    db.session.add(Assignment(shift_id=shift.id, user_id=volunteer.id, starts_at=shift.starts_at,
                              ends_at=shift.ends_at, status=AssignmentStatus.ASSIGNED.value, source="coordinator"))
    shift.assigned_count = 1
    db.session.commit()
    return {"coordinator": coordinator, "volunteer": volunteer, "event": event, "shift": shift}


def _errors(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_the_badge_code_rotates_on_the_phone(site, page, live_server, browser_login, screenshot):
    problems = _errors(page)
    page.goto("/login?lang=en")
    browser_login(page, site["volunteer"])
    page.click(".menu-toggle")
    page.click("#mainnav a[href='/checkin/badge']")
    page.wait_for_url("**/checkin/badge")
    expect(page.locator(".badge-name")).to_have_text("陈小明")
    first = page.locator("#badge-qr").get_attribute("src")
    assert first == "/checkin/badge/qr.svg"
    expect(page.locator("#badge-qr")).to_have_attribute("src", re.compile(r"^blob:"), timeout=10_000)
    second = page.locator("#badge-qr").get_attribute("src")
    expect(page.locator("#badge-qr")).not_to_have_attribute("src", second, timeout=10_000)  # and again
    assert page.locator("#badge-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "checkin-badge")
    assert problems == []


def test_the_dashboard_refreshes_itself_and_the_other_pages_load_cleanly(db, site, page, live_server, browser_login,
                                                                       screenshot):
    event, volunteer = site["event"], site["volunteer"]
    problems = _errors(page)
    page.goto("/login?lang=en")
    browser_login(page, site["coordinator"])
    for path in (f"/checkin/events/{event.id}", f"/checkin/events/{event.id}/attendance"):
        assert page.goto(path).status == 200
        screenshot(page, "checkin" + path.replace("/", "-"))
    page.goto(f"/checkin/events/{event.id}/dashboard")
    row = page.locator(f"tr[data-shift-id='{site['shift'].id}']")
    expect(row.locator("[data-field=checked_in]")).to_have_text("0")
    expect(row.locator("[data-field=late]")).to_have_text("1")

    at = utcnow()
    scan_kiosk(parse_kiosk_token(kiosk_token(event.id, shift_id=None, now=at), now=at), volunteer, now=at)
    db.session.commit()
    expect(row.locator("[data-field=checked_in]")).to_have_text("1", timeout=15_000)
    expect(row.locator("[data-field=late]")).to_have_text("0")
    expect(page.locator("[data-total=on_site]")).to_have_text("1")
    screenshot(page, "checkin-dashboard")
    assert problems == []
