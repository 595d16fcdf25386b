"""Check-in pages in Chromium with short (3-second) token windows: the badge's code really rotates, the live
dashboard refreshes itself, and none of the pages breaks the Content Security Policy."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.timeutil import utcnow
from checkin.scanning.services import scan_kiosk
from checkin.tokens import kiosk_token, parse_kiosk_token
from tests.browser.helpers import watch_page_errors

pytestmark = pytest.mark.browser


@pytest.fixture
def app_overrides():
    """CSRF on (as for every browser test) and codes that rotate every 3 seconds."""
    return {"WTF_CSRF_ENABLED": True, "CHECKIN_TOKEN_WINDOW_SECONDS": 3}


def test_the_badge_code_rotates_on_the_phone(site, page, live_server, browser_login, screenshot):
    problems = watch_page_errors(page)
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


def test_the_dashboard_refreshes_itself_and_the_other_pages_load_cleanly(
    db, site, page, live_server, browser_login, screenshot
):
    event, volunteer = site["event"], site["volunteer"]
    problems = watch_page_errors(page)
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
