"""In Chromium on a 360 px phone: the development outbox shows the code of a registration, without a horizontal
scroll, a CSP violation or a script error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.timeutil import utcnow
from sms.codes import send_code
from sms.purposes import SmsPurpose
from tests.browser.helpers import PHONE, watch_page_errors

pytestmark = pytest.mark.browser


@pytest.fixture
def context_options():
    return {**PHONE, "viewport": {"width": 360, "height": 740}}


def test_the_outbox_on_a_small_phone(page, live_server, db, screenshot):
    for number in ("13800138000", "13912345678"):
        send_code(number, SmsPurpose.REGISTER, ip_address=None, now=utcnow())
    db.session.commit()
    problems = watch_page_errors(page)
    page.goto("/dev/sms")
    expect(page.locator("h1")).to_have_text("短信发件箱")
    items = page.locator(".notification-list li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("139****5678")
    assert re.search(r"验证码为 \d{6}", items.first.inner_text())
    screenshot(page, "sms-outbox-360")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert problems == []
