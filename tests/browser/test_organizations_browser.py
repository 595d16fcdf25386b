"""In Chromium on a 360 px phone: the city's administrator adds a town committee to the tree, renames it, moves a
branch under it and closes an emptied team, moving its members; no page scrolls sideways, none breaks the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.permissions import Role
from tests.browser.helpers import PHONE, watch_page_errors
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

pytestmark = pytest.mark.browser


@pytest.fixture
def context_options():
    return {**PHONE, "viewport": {"width": 360, "height": 740}}


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide"


def test_an_administrator_keeps_the_tree_on_a_phone(page, live_server, make_user, orgs, browser_login, screenshot, db):
    admin = make_user(name="市管理员", organization=orgs["city"], role=Role.ADMIN)
    member = make_user(name="东城队员", organization=orgs["dongcheng_team"])
    errors = watch_page_errors(page)
    page.on("dialog", lambda dialog: dialog.accept())
    browser_login(page, admin)

    page.goto("/admin/")
    page.click("main a:has-text('组织架构')")
    expect(page.locator(f"#org-{orgs['dongcheng_team'].id}")).to_contain_text("1 名成员")
    _no_sideways_scroll(page)
    screenshot(page, "organizations")

    page.click(f"#org-{orgs['city'].id} a")
    page.fill("#child-name", "共青团东莞市莞城街道委员会")
    page.fill("#child-short_name", "莞城街道")
    page.select_option("#child-kind", "town")
    page.fill("#child-code", "bad code")
    page.click("#add-child button[type=submit]")
    expect(page.locator("#field-child-code .error")).to_be_visible()  # beside the field, the input kept
    expect(page.locator("#child-name")).to_have_value("共青团东莞市莞城街道委员会")
    page.fill("#child-code", "GC")
    page.click("#add-child button[type=submit]")
    expect(page.locator("h1")).to_contain_text("共青团东莞市莞城街道委员会")
    _no_sideways_scroll(page)
    town = db.session.scalar(select(Organization).where(Organization.code == "GC"))

    page.fill("#rename-short_name", "莞城")
    page.click("#rename button[type=submit]")
    expect(page.locator("#history")).to_contain_text("组织改名")

    # move 东城's team under 莞城, then close 东城, which now holds nothing but its members' old home
    page.goto(f"/admin/organizations/{orgs['dongcheng_team'].id}")
    page.select_option("#move-parent_id", str(town.id))
    page.click("#move button[type=submit]")
    expect(page.locator(".breadcrumbs")).to_contain_text("莞城")
    page.click("#close button[type=submit]")
    expect(page.locator("#field-close-reason .error")).to_be_visible()
    page.select_option("#close-move_to", str(orgs["nancheng_team"].id))
    page.fill("#close-reason", "并入南城街道志愿服务队")
    page.click("#close button[type=submit]")
    expect(page.locator("h1 .badge")).to_have_text("已撤销")
    _no_sideways_scroll(page)
    screenshot(page, "organization-closed")
    db.session.expire_all()
    assert db.session.get(User, member.id).organization_id == orgs["nancheng_team"].id
    assert [e for e in errors if "status of 422" not in e] == []  # a refused form answers 422 on purpose
