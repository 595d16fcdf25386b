"""In Chromium on a 360 px phone: an administrator finds a volunteer in the directory, disables and re-enables the
account, issues a reset link and copies it; the volunteer opens the link and sets a new password. No page scrolls
sideways, none breaks the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.permissions import Role
from tests.browser.helpers import PHONE, watch_page_errors

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Mian-hua-2026"


@pytest.fixture
def context_options():
    return {**PHONE, "viewport": {"width": 360, "height": 740}, "permissions": ["clipboard-read", "clipboard-write"]}


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide"


def test_directory_disable_enable_and_reset_link_on_a_phone(
    page, browser, live_server, make_user, orgs, browser_login, screenshot, context_options
):
    admin = make_user(name="南城管理员", organization=orgs["nancheng"], role=Role.ADMIN, role_org=orgs["nancheng"])
    volunteer = make_user(name="陈志愿", organization=orgs["nancheng_team"])
    make_user(name="待激活的人", organization=orgs["nancheng_branch"], password_hash=None, source="imported")
    errors = watch_page_errors(page)
    page.on("dialog", lambda dialog: dialog.accept())
    browser_login(page, admin)

    expect(page.locator(".nav-people .badge")).to_have_text("1")
    page.goto("/admin/people")
    expect(page.locator("#people-count")).to_have_text("共 3 人")
    _no_sideways_scroll(page)
    screenshot(page, "people")
    page.fill("#name", "陈")
    page.click("form.people-filters button[type=submit]")
    expect(page.locator("#people-count")).to_have_text("共 1 人")
    page.click(f"#person-{volunteer.id} .person-name a")
    page.wait_for_url(f"**/volunteers/{volunteer.id}")
    _no_sideways_scroll(page)

    page.fill("#reason", "核查身份")
    page.click("#account-actions button:has-text('停用账号')")
    page.wait_for_url(f"**/volunteers/{volunteer.id}")
    expect(page.locator("#account-actions .badge")).to_have_text("已停用")
    page.fill("#reason", "核查完毕")
    page.click("#account-actions button:has-text('启用账号')")
    expect(page.locator("#account-actions .badge")).to_have_text("启用")
    screenshot(page, "profile-account")

    page.click("#account-actions button:has-text('签发密码重置链接')")
    expect(page.locator("h1")).to_have_text("密码重置链接")
    _no_sideways_scroll(page)
    link = page.input_value("#reset-link-url")
    page.click("button[data-copy]")
    expect(page.locator("button[data-copy]")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == link
    screenshot(page, "reset-link")

    stranger = browser.new_context(base_url=live_server.base_url, **context_options)
    other = stranger.new_page()
    stranger_errors = watch_page_errors(other)
    other.goto(link)
    expect(other.locator("h1")).to_have_text("设置新密码")
    _no_sideways_scroll(other)
    other.fill("#new_password", NEW_PASSWORD)
    other.fill("#new_password_confirm", NEW_PASSWORD)
    other.click("main form button[type=submit]")
    other.wait_for_url("**/login")
    expect(other.locator(".flash-success")).to_contain_text("密码已修改")
    browser_login(other, volunteer, NEW_PASSWORD)
    assert errors == [] and stranger_errors == []
    other.goto(link)  # used: the page says so (the browser logs the 410 itself)
    expect(other.locator(".status-code")).to_have_text("410")
    stranger.close()
