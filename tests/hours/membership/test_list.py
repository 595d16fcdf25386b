"""The committee list: filters, subtree limits, who may read it, and a fixed number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from app.extensions import db as _db
from app.timeutil import local_today, utcnow
from hours.membership.decisions import record_evaluation
from hours.membership.progress import eligibility_list, progress_for_subtrees


@pytest.fixture
def cohort(make_applicant, make_ready, people, orgs):
    """Five applicants of 南城街道, each in a different state, and one of 东城街道 who is ready."""
    recent = local_today(utcnow()) - timedelta(days=20)
    cohort = {
        "ready": make_ready(make_applicant(name="全达标")),
        "no_service": make_ready(make_applicant(name="缺时长"), service_minutes=0),
        "no_theory": make_ready(make_applicant(name="缺学时"), theory_minutes=0),
        "no_months": make_ready(make_applicant(name="缺月数", activist_since=recent)),
        "no_evaluation": make_ready(make_applicant(name="缺考评", organization=orgs["nancheng_team"]), evaluated=False),
    }
    dongcheng = make_applicant(name="东城达标", organization=orgs["dongcheng_team"])
    cohort["elsewhere"] = dongcheng
    return cohort


def names(rows):
    return {p.name for p in rows}


@pytest.mark.parametrize(
    "status, expected",
    [
        (None, {"全达标", "缺时长", "缺学时", "缺月数", "缺考评"}),
        ("ready", {"全达标"}),
        ("missing_service", {"缺时长"}),
        ("missing_theory", {"缺学时"}),
        ("missing_months", {"缺月数"}),
        ("missing_evaluation", {"缺考评"}),
        ("approved", set()),
    ],
)
def test_filters(cohort, people, status, expected):
    rows, counts = eligibility_list(people["reviewer"], now=utcnow(), status=status)
    assert names(rows) == expected
    assert counts["all"] == 5 and counts["ready"] == 1 and counts["missing_service"] == 1


def test_organization_filter_narrows_to_a_subtree(cohort, people, orgs):
    rows, _ = eligibility_list(people["reviewer"], now=utcnow(), organization=orgs["nancheng_team"])
    assert names(rows) == {"缺考评"}


def test_the_list_stays_inside_the_viewers_subtree(cohort, people):
    rows, _ = eligibility_list(people["outsider"], now=utcnow())
    assert names(rows) == {"东城达标"}
    rows, _ = eligibility_list(people["branch"], now=utcnow())  # the branch: its own applicants only
    assert names(rows) == {"全达标", "缺时长", "缺学时", "缺月数"}


def test_non_applicants_are_not_listed(cohort, people):
    rows, _ = eligibility_list(people["reviewer"], now=utcnow())
    assert people["volunteer"].name not in names(rows)


def test_page_shows_filtered_list(cohort, people, login, client):
    login(people["reviewer"])
    page = client.get("/hours/membership/applicants")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("全达标", "缺时长", "缺学时", "缺月数", "缺考评"):
        assert name in html
    assert "东城达标" not in html
    assert ' style="' not in html and "<style" not in html
    html = client.get("/hours/membership/applicants?status=missing_theory").get_data(as_text=True)
    assert "缺学时" in html and "全达标" not in html and "缺时长" not in html
    org_id = people["volunteer"].organization_id  # 南城阳光社区团支部
    html = client.get(f"/hours/membership/applicants?organization={org_id}&status=ready").get_data(as_text=True)
    assert "全达标" in html and "缺考评" not in html


def test_bad_filters_answer_422(cohort, people, login, client, orgs):
    login(people["reviewer"])
    assert client.get("/hours/membership/applicants?status=everything").status_code == 422
    # an organization outside the viewer's subtree is not a choice
    assert client.get(f"/hours/membership/applicants?organization={orgs['dongcheng'].id}").status_code == 422
    assert client.get("/hours/membership/applicants?organization=abc").status_code == 422


def test_volunteers_cannot_read_the_list(people, login, client):
    login(people["volunteer"])
    assert client.get("/hours/membership/applicants").status_code == 403
    assert client.get("/hours/membership/applicants.xlsx").status_code == 403
    assert client.get("/hours/membership/approved").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/hours/membership/applicants")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_list_takes_the_same_number_of_queries_for_more_applicants(make_applicant, make_ready, people, app):
    """One aggregate query per source, never one per applicant."""
    make_ready(make_applicant(name="甲"))
    make_applicant(name="乙")

    def count_queries():
        statements = []

        def listen(conn, cursor, statement, *args):
            statements.append(statement)

        engine = _db.engine
        event.listen(engine, "before_cursor_execute", listen)
        try:
            _db.session.expire_all()
            rows = progress_for_subtrees(["/"], now=utcnow())
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        return len(rows), len([s for s in statements if re.match(r"\s*SELECT", s, re.I)])

    few_rows, few = count_queries()
    for n in range(6):
        make_ready(make_applicant(name=f"丙{n}"), evaluated=n % 2 == 0, theory_minutes=45 * n)
    many_rows, many = count_queries()
    assert (few_rows, many_rows) == (2, 8)
    assert few == many <= 6


def test_evaluation_recorded_after_listing_changes_the_counts(make_applicant, make_ready, people):
    applicant = make_ready(make_applicant(name="待评"), evaluated=False)
    _, counts = eligibility_list(people["reviewer"], now=utcnow())
    assert counts["missing_evaluation"] == 1 and counts["ready"] == 0
    record_evaluation(applicant, passed=True, note="", by=people["branch"], now=utcnow())
    _db.session.commit()
    _, counts = eligibility_list(people["reviewer"], now=utcnow())
    assert counts["missing_evaluation"] == 0 and counts["ready"] == 1


def test_approved_filter_and_disabled_accounts(make_applicant, make_ready, people):
    from hours.membership.decisions import verify_eligibility

    approved = make_ready(make_applicant(name="已通过"))
    verify_eligibility(approved, approved=True, note="", by=people["reviewer"], now=utcnow())
    gone = make_ready(make_applicant(name="已停用"))
    gone.is_disabled = True
    _db.session.commit()
    rows, counts = eligibility_list(people["reviewer"], now=utcnow(), status="approved")
    assert names(rows) == {"已通过"} and counts["approved"] == 1
    everyone, _ = eligibility_list(people["reviewer"], now=utcnow())
    assert "已停用" not in names(everyone)
