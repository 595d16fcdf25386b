"""The account directory (/admin/people): who sees whom, search, filters, pagination, the Excel export, refusals."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from app.permissions import Role
from app.security import decrypt_id_number
from tests import factories
from volunteers.accounts.models import PoliticalStatus
from volunteers.admin.directory.export import HEADERS


def _names(html: str) -> set[str]:
    """The names listed in the directory's rows."""
    return set(re.findall(r'<div class="person-name">\s*<a href="/volunteers/\d+">([^<]+)</a>', html))


def _page(client, **query):
    response = client.get("/admin/people", query_string=query)
    return response, response.get_data(as_text=True)


def _count(html: str) -> int:
    found = re.search(r'<h2 id="people-count">(\d+) people</h2>', html)
    assert found, "no count of results"
    return int(found.group(1))


NANCHENG = {"南城志愿者", "南城志愿者二", "南城负责人", "南城审核员", "南城管理员"}


@pytest.fixture
def reviewer_client(people, login_as):
    return login_as(people["reviewer"])


def test_a_reviewer_lists_the_people_of_their_subtree_only(reviewer_client):
    response, html = _page(reviewer_client)
    assert response.status_code == 200
    assert _names(html) == NANCHENG
    assert _count(html) == len(NANCHENG)
    assert "东城志愿者" not in html and "市管理员" not in html


def test_the_city_administrator_lists_everyone(people, login_as):
    _response, html = _page(login_as(people["city_admin"]))
    assert _names(html) == {person.name for person in people.values()}


def test_a_sibling_administrator_sees_only_their_own_town(people, login_as):
    _response, html = _page(login_as(people["dongcheng_admin"]))
    assert _names(html) == {"东城志愿者", "东城管理员"}


def test_each_row_links_to_the_profile_and_masks_the_mobile(reviewer_client, people):
    person = people["nancheng_volunteer"]
    _response, html = _page(reviewer_client, name=person.name)
    assert f'href="/volunteers/{person.id}"' in html
    assert f"{person.mobile[:3]}****{person.mobile[-4:]}" in html
    assert person.mobile not in html
    assert reviewer_client.get(f"/volunteers/{person.id}").status_code == 200


def test_search_by_a_part_of_the_name(reviewer_client):
    _response, html = _page(reviewer_client, name="志愿者二")
    assert _names(html) == {"南城志愿者二"}
    _response, html = _page(reviewer_client, name="南城")
    assert _names(html) == NANCHENG
    _response, html = _page(reviewer_client, name="%")
    assert _names(html) == set() and "Nobody matches." in html


def test_search_by_the_last_four_digits_of_the_mobile(reviewer_client, make_user, orgs):
    person = make_user(organization=orgs["nancheng_team"], name="尾号测试", mobile="13812349876")
    _response, html = _page(reviewer_client, mobile_tail="9876")
    assert _names(html) == {person.name}


@pytest.mark.parametrize("tail", ["987", "98765", "13812349876", "98a6", "９８７６"])
def test_anything_but_four_digits_is_refused_beside_the_field(reviewer_client, field_error, tail):
    response, html = _page(reviewer_client, mobile_tail=tail)
    assert response.status_code == 422
    assert "Enter exactly the last 4 digits of the mobile number." in field_error(html, "mobile_tail")
    assert f'value="{tail}"' in html  # what was typed stays
    assert _names(html) == set()


def test_organization_filter_takes_in_the_organizations_below(reviewer_client, orgs, people):
    _response, html = _page(reviewer_client, organization=orgs["nancheng_branch"].id)
    assert _names(html) == {"南城志愿者二"}
    _response, html = _page(reviewer_client, organization=orgs["nancheng"].id)
    assert _names(html) == NANCHENG


def test_the_organization_picker_offers_only_the_subtree(reviewer_client, orgs):
    _response, html = _page(reviewer_client)
    picker = html[html.index('id="organization"') : html.index("</select>", html.index('id="organization"'))]
    assert "南城街道志愿服务队" in picker and "南城阳光社区团支部" in picker
    assert "东城街道" not in picker and "东莞理工学院" not in picker


@pytest.mark.parametrize("path", ["/admin/people", "/admin/people.xlsx"])
def test_an_organization_outside_the_subtree_is_forbidden(reviewer_client, orgs, path):
    for outside in ("dongcheng", "dongcheng_team", "city"):
        assert reviewer_client.get(path, query_string={"organization": orgs[outside].id}).status_code == 403


@pytest.mark.parametrize("value", ["999999", "abc", "99999999999999999999"])
def test_an_unknown_organization_is_bad_input(reviewer_client, field_error, value):
    response, html = _page(reviewer_client, organization=value)
    assert response.status_code == 422
    field_error(html, "organization")


def test_role_filter(reviewer_client):
    _response, html = _page(reviewer_client, role="reviewer")
    assert _names(html) == {"南城审核员"}
    _response, html = _page(reviewer_client, role="coordinator")
    assert _names(html) == {"南城负责人"}
    _response, html = _page(reviewer_client, role="none")
    assert _names(html) == {"南城志愿者", "南城志愿者二"}
    assert 'class="badge role">Reviewer · 南城街道</span>' in _page(reviewer_client, role="reviewer")[1]


def test_status_filter(reviewer_client, people, make_user, orgs, db):
    people["nancheng_volunteer"].is_disabled = True
    imported = make_user(organization=orgs["nancheng_team"], name="导入未激活", password_hash=None, source="imported")
    db.session.commit()
    _response, html = _page(reviewer_client, status="disabled")
    assert _names(html) == {"南城志愿者"}
    assert 'data-status="disabled"' in html
    _response, html = _page(reviewer_client, status="not_activated")
    assert _names(html) == {imported.name}
    _response, html = _page(reviewer_client, status="active")
    assert _names(html) == NANCHENG - {"南城志愿者"}


def test_political_status_filter(reviewer_client, make_user, orgs):
    make_user(organization=orgs["nancheng_branch"], name="积极分子甲", political_status=PoliticalStatus.MASSES.value)
    _response, html = _page(reviewer_client, political_status="群众")
    assert _names(html) == {"积极分子甲"}
    response, html = _page(reviewer_client, political_status="无党派")
    assert response.status_code == 422


def test_filters_combine(reviewer_client, orgs):
    _response, html = _page(reviewer_client, organization=orgs["nancheng"].id, role="none", name="二")
    assert _names(html) == {"南城志愿者二"}


def test_fifty_a_page_and_the_page_links_keep_the_filters(reviewer_client, orgs, db):
    for n in range(53):
        factories.user(orgs["nancheng_branch"], name=f"分页{n:02d}")
    query = {"name": "分页", "status": "active"}
    response, html = _page(reviewer_client, **query)
    assert response.status_code == 200 and _count(html) == 53
    first = _names(html)
    assert len(first) == 50
    next_link = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    assert "name=%E5%88%86%E9%A1%B5" in next_link and "status=active" in next_link and "page=2" in next_link
    second = _names(reviewer_client.get(next_link).get_data(as_text=True))
    assert len(second) == 3 and not first & second
    assert _names(_page(reviewer_client, page=99, **query)[1]) == set()


def test_the_page_is_in_chinese_by_default(people, login_as, make_client, login):
    client = make_client()
    with client.session_transaction() as session:
        session.pop("lang", None)
    login(people["reviewer"], target=client)
    html = client.get("/admin/people").get_data(as_text=True)
    assert "人员名录" in html or "人员" in html


# ---- the Excel export -----------------------------------------------------------------------


def _sheet(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="people-')
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_the_export_has_chinese_headers_masked_ids_and_only_the_subtree(reviewer_client, people):
    rows = _sheet(reviewer_client.get("/admin/people.xlsx"))
    assert (
        tuple(rows[0])
        == HEADERS
        == ("姓名", "志愿者编号", "手机号", "身份证号", "政治面貌", "所属组织", "角色", "账号状态", "注册时间")
    )
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == NANCHENG
    volunteer = people["nancheng_volunteer"]
    row = by_name[volunteer.name]
    full_id = decrypt_id_number(volunteer.id_number_encrypted)
    assert row[1] == volunteer.volunteer_number
    assert row[2] == f"{volunteer.mobile[:3]}****{volunteer.mobile[-4:]}"
    assert row[3] == volunteer.masked_id_number == f"{full_id[:4]}**********{full_id[-4:]}"
    assert (row[5], row[7]) == ("南城街道志愿服务队", "正常")
    assert by_name["南城审核员"][6] == "审核员"
    everything = repr(rows)
    for person in people.values():
        assert decrypt_id_number(person.id_number_encrypted) not in everything
        assert person.mobile not in everything


def test_the_export_follows_the_filters(reviewer_client, orgs, people, db):
    people["nancheng_volunteer2"].is_disabled = True
    db.session.commit()
    rows = _sheet(reviewer_client.get("/admin/people.xlsx", query_string={"organization": orgs["nancheng_branch"].id}))
    assert [(row[0], row[7]) for row in rows[1:]] == [("南城志愿者二", "已停用")]
    rows = _sheet(reviewer_client.get("/admin/people.xlsx", query_string={"role": "none", "name": "南城"}))
    assert {row[0] for row in rows[1:]} == {"南城志愿者", "南城志愿者二"}


def test_a_sibling_administrator_exports_only_their_own_town(people, login_as, orgs):
    client = login_as(people["dongcheng_admin"])
    rows = _sheet(client.get("/admin/people.xlsx"))
    assert {row[0] for row in rows[1:]} == {"东城志愿者", "东城管理员"}
    assert client.get("/admin/people.xlsx", query_string={"organization": orgs["nancheng"].id}).status_code == 403


def test_search_by_name_ignores_the_case_of_latin_letters(reviewer_client, make_user, orgs):
    make_user(organization=orgs["nancheng_team"], name="Anna Lee")
    assert _names(_page(reviewer_client, name="anna")[1]) == {"Anna Lee"}


def test_the_page_links_to_the_export_with_its_filters(reviewer_client):
    _response, html = _page(reviewer_client, role="none")
    assert 'href="/admin/people.xlsx?role=none"' in html


def test_an_export_with_a_wrong_filter_shows_the_page_again(reviewer_client, field_error):
    response = reviewer_client.get("/admin/people.xlsx", query_string={"mobile_tail": "12"})
    assert response.status_code == 422 and response.mimetype == "text/html"
    field_error(response.get_data(as_text=True), "mobile_tail")


def test_a_formula_typed_as_a_name_stays_text(reviewer_client, make_user, orgs):
    make_user(organization=orgs["nancheng_team"], name='=HYPERLINK("http://x","y")')
    response = reviewer_client.get("/admin/people.xlsx", query_string={"name": "HYPERLINK"})
    workbook = load_workbook(io.BytesIO(response.get_data()))
    cell = workbook.active["A2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


# ---- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "nancheng_volunteer"])
@pytest.mark.parametrize("path", ["/admin/people", "/admin/people.xlsx"])
def test_coordinators_and_volunteers_are_refused(people, login_as, who, path):
    assert login_as(people[who]).get(path).status_code == 403


@pytest.mark.parametrize("path", ["/admin/people", "/admin/people.xlsx"])
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---- navigation -----------------------------------------------------------------------------


def test_the_navigation_shows_the_directory_with_the_accounts_waiting(people, login_as, make_user, orgs, db):
    make_user(organization=orgs["nancheng_team"], name="待激活", password_hash=None, source="imported")
    make_user(organization=orgs["dongcheng_team"], name="东城待激活", password_hash=None, source="imported")
    html = login_as(people["reviewer"]).get("/me").get_data(as_text=True)
    assert re.search(r'class="nav-people">People <span class="badge count"[^>]*>1</span>', html)
    admin_home = login_as(people["admin"]).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/people?status=not_activated"' in admin_home and "1 accounts not activated yet" in admin_home
    city = login_as(people["city_admin"]).get("/me").get_data(as_text=True)
    assert re.search(r'class="nav-people">People <span class="badge count"[^>]*>2</span>', city)


@pytest.mark.parametrize("who", ["coordinator", "nancheng_volunteer"])
def test_the_navigation_has_no_directory_for_others(people, login_as, who):
    assert "nav-people" not in login_as(people[who]).get("/me").get_data(as_text=True)


def test_roles_granted_in_the_subtree_hold_for_a_reviewer_role_deeper_down(make_user, orgs, login_as, people):
    branch_reviewer = make_user(
        organization=orgs["nancheng_branch"], name="支部审核员", role=Role.REVIEWER, role_org=orgs["nancheng_branch"]
    )
    _response, html = _page(login_as(branch_reviewer))
    assert _names(html) == {"南城志愿者二", "支部审核员"}


def test_a_registration_waiting_for_its_code_is_not_listed_as_active(db, people, login_as, client, registration_data):
    client.post("/register", data=registration_data(mobile="13612340088", name="待验证的人"))
    admin = login_as(people["city_admin"])
    waiting = admin.get("/admin/people?status=awaiting_code").get_data(as_text=True)
    active = admin.get("/admin/people?status=active").get_data(as_text=True)
    assert "待验证的人" in waiting and "待验证的人" not in active
