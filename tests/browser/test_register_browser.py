"""In Chromium on a phone: a new volunteer registers, proves the mobile number with the texted code (read from the
console backend's outbox, as a developer would), logs out, logs in again and sees the profile."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.security import demo_id_number
from volunteers.accounts.models import User

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Qing-nian-2026"


@pytest.fixture
def skills(make_skill):
    return [make_skill("急救", name_en="First aid"), make_skill("粤语", "language", name_en="Cantonese")]


def test_new_volunteer_registers_logs_out_and_logs_in_again(page, live_server, orgs, skills, db, screenshot):
    id_number = demo_id_number(date(2001, 4, 18), 77).value
    page.goto("/register")
    expect(page.locator("h1")).to_have_text("志愿者注册")

    page.fill("#name", "林晓彤")
    page.fill("#mobile", "13912345678")
    page.fill("#id_number", id_number)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password_confirm", NEW_PASSWORD)
    page.select_option("#political_status", "共青团员")

    # The searchable organization picker: typing narrows the list, then the volunteer picks.
    picker = page.locator("#organization_id")
    page.fill("input.org-filter", "理工")
    expect(picker.locator("option:not([hidden])")).to_have_count(2)
    expect(picker.locator("option", has_text="南城街道志愿服务队")).to_be_hidden()
    team = orgs["dgut_team"]
    picker.select_option(str(team.id))
    expect(picker).to_have_value(str(team.id))

    page.check(f"input[name=skills][value='{skills[0].id}']")
    page.check(f"input[name=languages][value='{skills[1].id}']")
    page.fill("#emergency_contact_name", "林妈妈")
    page.fill("#emergency_contact_mobile", "13700001111")
    screenshot(page, "register-filled")
    page.click("main form button[type=submit]")

    # The account waits for the code texted to the mobile number; the console backend's outbox shows the text.
    page.wait_for_url("**/register/confirm")
    expect(page.locator("main")).to_contain_text("139****5678")
    screenshot(page, "register-confirm")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    phone = page.context.new_page()
    phone.goto("/dev/sms")
    message = phone.locator(".notification-body").first
    expect(phone.locator(".notification").first).to_contain_text("139****5678")
    code = re.search(r"(?<!\d)\d{6}(?!\d)", message.inner_text()).group(0)
    phone.close()
    wrong = "000000" if code != "000000" else "111111"
    page.fill("#code", wrong)
    page.click("main form button[type=submit]")
    expect(page.locator("#field-code .error")).to_be_visible()  # beside the field, with the tries left
    page.fill("#code", code)
    page.click("main form button[type=submit]")

    page.wait_for_url("**/me")
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.mobile == "13912345678"))
    assert user is not None and user.organization_id == team.id
    expect(page.locator("h1")).to_have_text("林晓彤")
    expect(page.locator(".volunteer-number")).to_have_text(user.volunteer_number)
    expect(page.locator(".profile")).to_contain_text("东莞理工学院青年志愿者协会")
    expect(page.locator(".profile")).to_contain_text("急救")
    expect(page.locator(".flash-success")).to_contain_text(user.volunteer_number)
    screenshot(page, "profile")

    # Log out through the navigation (the menu folds away on a phone).
    page.click(".menu-toggle")
    page.click("#mainnav button:has-text('退出登录')")
    page.wait_for_url("**/login")
    page.goto("/me")
    page.wait_for_url("**/login?next=*")

    page.fill("#mobile", "13912345678")
    page.fill("#password", NEW_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/me")
    expect(page.locator("h1")).to_have_text("林晓彤")
    expect(page.locator(".volunteer-number")).to_have_text(user.volunteer_number)


def test_wrong_input_is_shown_beside_the_field_and_nothing_is_written(page, live_server, orgs, db):
    page.goto("/register")
    page.fill("#name", "王小明")
    page.fill("#mobile", "13912340000")
    page.fill("#id_number", "441900200104180771")  # the check digit does not match
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password_confirm", NEW_PASSWORD)
    page.select_option("#organization_id", str(orgs["nancheng_team"].id))
    page.fill("#emergency_contact_name", "王妈妈")
    page.fill("#emergency_contact_mobile", "13700001111")
    page.click("main form button[type=submit]")

    expect(page.locator("#field-id_number .error")).to_be_visible()
    expect(page.locator("#name")).to_have_value("王小明")
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.mobile == "13912340000")) is None


def test_chinese_is_the_default_and_english_can_be_chosen(page, live_server, make_user, browser_login, screenshot):
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("main button[type=submit]")).to_have_text("登录")

    page.click(".menu-toggle")
    screenshot(page, "login-menu-open")
    page.click("#mainnav .lang a")
    expect(page.locator("main button[type=submit]")).to_have_text("Log in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/register")  # the choice is remembered
    expect(page.locator("h1")).to_have_text("Volunteer registration")

    browser_login(page, make_user(name="赵一鸣"))
    expect(page.locator("h1")).to_have_text("赵一鸣")
    expect(page.locator(".profile")).to_contain_text("Volunteer number")


def test_no_page_breaks_the_content_security_policy(page, live_server, make_user, browser_login, screenshot):
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    for path in ("/", "/login", "/register"):
        page.goto(path)
    missing = page.goto("/no-such-page")
    assert missing.status == 404
    expect(page.locator(".status-code")).to_have_text("404")
    screenshot(page, "not-found")
    problems.clear()  # the 404 itself is logged as a failed resource; anything else is a problem
    browser_login(page, make_user())
    page.click(".menu-toggle")
    expect(page.locator("#mainnav")).to_be_visible()
    assert problems == []
