"""The applicant's own progress page: progress bars without inline styles, what is missing, nobody else's."""

from __future__ import annotations

import re

from tests.support import local


def bars(html):
    """{condition: (value, max)} of the page's <progress> bars, read from the condition items."""
    found = {}
    for code, value, maximum in re.findall(
        r'data-condition="(\w+)".*?<progress class="condition-bar" value="([\d.]+)" max="([\d.]+)"', html, re.S
    ):
        found[code] = (float(value), float(maximum))
    return found


def test_applicant_sees_progress_bars_and_what_is_missing(make_applicant, serve, people, login, client, this_year):
    applicant = make_applicant(name="王小红")
    serve(applicant, start=local(this_year, 1, 1, 9), minutes=6 * 45, kind="theory_class")
    serve(applicant, start=local(this_year, 1, 2, 8), minutes=15 * 60)
    serve(applicant, start=local(this_year, 1, 3, 8), minutes=5 * 60, status="submitted")  # not yet counted
    login(applicant)
    response = client.get("/hours/membership")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert bars(html) == {
        "months": (3.0, 3.0),
        "theory": (6.0, 12.0),
        "service": (15.0, 20.0),
        "evaluation": (0.0, 1.0),
    }
    assert 'data-condition="months" data-met="yes"' in html
    assert 'data-condition="service" data-met="no"' in html
    assert "6.0 more theory class hours needed (6.0 of 12)." in html
    assert f"5.0 more verified service hours needed in {this_year} (15.0 of 20)." in html
    assert "No ideology evaluation is recorded yet." in html
    assert "团前教育" in html  # the class attended is listed
    # the CSP forbids inline styles: widths come from <progress>, never a style attribute
    assert " style=" not in html and "<style" not in html
    assert "membership.css" in html


def test_ready_applicant_is_told_all_conditions_are_met(make_applicant, make_ready, login, client):
    applicant = make_ready(make_applicant())
    login(applicant)
    html = client.get("/hours/membership").get_data(as_text=True)
    assert "All four conditions are met." in html
    assert "Still missing" not in html


def test_page_shows_only_the_signed_in_volunteers_own_progress(make_applicant, make_ready, people, login, client):
    other = make_ready(make_applicant(name="别人家的"))
    me = make_applicant(name="我自己")
    login(me)
    html = client.get(f"/hours/membership?user_id={other.id}").get_data(as_text=True)
    assert "All four conditions are met." not in html  # the query string changes nothing
    assert client.get(f"/hours/membership/applicants/{other.id}").status_code == 403
    assert client.get(f"/hours/membership/applicants/{me.id}").status_code == 403  # the staff page is for staff


def test_a_non_applicant_is_told_the_conditions_are_for_applicants(people, login, client):
    login(people["volunteer"])
    html = client.get("/hours/membership").get_data(as_text=True)
    assert "These conditions apply to membership applicants" in html


def test_staff_see_an_applicants_page_with_forms(make_applicant, people, login, client):
    applicant = make_applicant(name="王小红")
    login(people["branch"])
    html = client.get(f"/hours/membership/applicants/{applicant.id}").get_data(as_text=True)
    assert "王小红" in html and "Record the ideology evaluation" in html and "Verify eligibility" in html
    assert " style=" not in html


def test_progress_page_needs_login(client):
    response = client.get("/hours/membership")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_chinese_page_renders(make_applicant, login, client):
    applicant = make_applicant()
    login(applicant)
    assert client.get("/hours/membership?lang=zh").status_code == 200


def test_navigation_links_applicants_and_staff(make_applicant, people, login, client, make_client):
    login(make_applicant())
    assert 'href="/hours/membership">Membership</a>' in client.get("/hours/").get_data(as_text=True)
    staff = login(people["reviewer"], target=make_client())
    assert 'href="/hours/membership/applicants">Membership</a>' in staff.get("/hours/").get_data(as_text=True)
    plain = login(people["volunteer"], target=make_client())
    assert ">Membership</a>" not in plain.get("/hours/").get_data(as_text=True)
