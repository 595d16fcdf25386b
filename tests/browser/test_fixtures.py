"""The browser fixtures themselves: the vendored CSS and JS load in Chromium, extra launch flags work."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import PHONE

pytestmark = pytest.mark.browser


def test_vendored_stylesheet_and_script_are_applied(page, live_server):
    page.goto("/")
    expect(page.locator(".topbar")).to_have_css("background-color", "rgb(200, 16, 46)")
    expect(page.locator("#mainnav")).to_be_hidden()  # folded on a phone...
    page.click(".menu-toggle")  # ...and opened by static/js/app.js
    expect(page.locator("#mainnav")).to_be_visible()
    expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "true")


def test_a_separately_launched_chromium_reaches_the_live_server(launch_chromium, live_server):
    chromium = launch_chromium("--user-agent=DongguanKiosk/1.0")
    page = chromium.new_context(base_url=live_server.base_url, **PHONE).new_page()
    page.goto("/login?lang=en")
    expect(page.locator("main button[type=submit]")).to_have_text("Log in")
    assert page.evaluate("navigator.userAgent") == "DongguanKiosk/1.0"  # the extra flag took effect
