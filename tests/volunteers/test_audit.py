"""The audit trail page: scope by subtree, filters, pagination, and what a reveal looks like."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import audit
from app.audit import AuditLog
from volunteers.accounts import services


def _row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="audit-(\d+)"', html)]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def reveals(people, db):
    """The 南城 administrator revealed a 南城 number on three days; the 东城 one revealed a 东城 number."""
    admin, volunteer = people["admin"], people["nancheng_volunteer"]
    made = {}
    # 2026-02-28 16:30 UTC is 2026-03-01 00:30 in Dongguan; 2026-03-31 16:30 UTC is already 2026-04-01 there.
    for when in ("2026-01-10T02:00:00", "2026-02-28T16:30:00", "2026-03-31T16:30:00"):
        services.reveal_id_number(volunteer, by=admin, now=_at(when))
    services.reveal_id_number(
        people["dongcheng_volunteer"], by=people["dongcheng_admin"], now=_at("2026-03-10T02:00:00")
    )
    db.session.commit()
    for entry in db.session.scalars(select(AuditLog).where(AuditLog.action == "id_number.reveal")):
        made[entry.at.isoformat()[:16]] = entry.id
    return made


def test_audit_page_shows_a_reveal_with_actor_and_target(people, reveals, login_as):
    html = (
        login_as(people["admin"])
        .get("/admin/audit", query_string={"action": "id_number.reveal"})
        .get_data(as_text=True)
    )
    assert len(_row_ids(html)) == 3
    row = html.split(f'<tr id="audit-{reveals["2026-01-10T02:00"]}"')[1].split("</tr>")[0]
    assert "Revealed an ID number" in row
    assert people["admin"].name in row and people["admin"].mobile in row
    assert people["nancheng_volunteer"].name in row and people["nancheng_volunteer"].volunteer_number in row
    assert "2026-01-10 10:00" in row  # shown in Dongguan time


def test_audit_page_is_limited_to_the_administrators_subtree(people, reveals, login_as):
    town = login_as(people["admin"]).get("/admin/audit").get_data(as_text=True)
    assert reveals["2026-03-10T02:00"] not in _row_ids(town)  # the 东城 reveal
    assert people["dongcheng_volunteer"].name not in town
    city = login_as(people["city_admin"]).get("/admin/audit").get_data(as_text=True)
    assert set(reveals.values()) <= set(_row_ids(city))


def test_entries_without_an_organization_are_for_city_administrators(people, login_as, db):
    entry = audit.record("system.note", actor=None, now=_at("2026-05-01T00:00:00"), note="nightly job")
    db.session.commit()
    assert entry.id in _row_ids(login_as(people["city_admin"]).get("/admin/audit").get_data(as_text=True))
    assert entry.id not in _row_ids(login_as(people["admin"]).get("/admin/audit").get_data(as_text=True))


def test_filter_by_actor_mobile(people, reveals, login_as, db):
    actor = people["dongcheng_admin"]
    client = login_as(people["city_admin"])
    html = client.get("/admin/audit", query_string={"actor_mobile": actor.mobile}).get_data(as_text=True)
    by_actor = db.session.scalars(select(AuditLog.id).where(AuditLog.actor_id == actor.id)).all()
    assert sorted(_row_ids(html)) == sorted(by_actor)
    assert reveals["2026-03-10T02:00"] in by_actor and len(by_actor) == 2  # registered, revealed
    both = client.get("/admin/audit", query_string={"actor_mobile": actor.mobile, "action": "id_number.reveal"})
    assert _row_ids(both.get_data(as_text=True)) == [reveals["2026-03-10T02:00"]]
    nobody = client.get("/admin/audit", query_string={"actor_mobile": "13999999999"}).get_data(as_text=True)
    assert _row_ids(nobody) == []


def test_filter_by_local_date_range(people, reveals, login_as):
    client = login_as(people["admin"])
    html = client.get(
        "/admin/audit", query_string={"action": "id_number.reveal", "date_from": "2026-03-01", "date_to": "2026-03-31"}
    ).get_data(as_text=True)
    assert _row_ids(html) == [reveals["2026-02-28T16:30"]]
    april = client.get(
        "/admin/audit", query_string={"action": "id_number.reveal", "date_from": "2026-04-01", "date_to": "2026-04-01"}
    ).get_data(as_text=True)
    assert _row_ids(april) == [reveals["2026-03-31T16:30"]]


def test_newest_first(people, reveals, login_as):
    html = (
        login_as(people["admin"])
        .get("/admin/audit", query_string={"action": "id_number.reveal"})
        .get_data(as_text=True)
    )
    assert _row_ids(html) == [reveals["2026-03-31T16:30"], reveals["2026-02-28T16:30"], reveals["2026-01-10T02:00"]]


@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "date_to", "The end date is before the start date."),
        ({"date_from": "2026-13-01"}, "date_from", "Not a valid date value."),
        ({"actor_mobile": "12345"}, "actor_mobile", "Mobile number must be 11 digits"),
        ({"action": "no.such.action"}, "action", "Not a valid choice"),
    ],
)
def test_bad_filters_are_shown_beside_the_field(people, login_as, field_error, query, field, message):
    response = login_as(people["admin"]).get("/admin/audit", query_string=query)
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), field)


def test_audit_trail_is_paginated(people, login_as, db):
    volunteer = people["nancheng_volunteer"]
    for minute in range(55):
        services.reveal_id_number(volunteer, by=people["admin"], now=_at(f"2026-06-01T08:{minute:02d}:00"))
    db.session.commit()
    client = login_as(people["admin"])
    first = client.get("/admin/audit", query_string={"action": "id_number.reveal"}).get_data(as_text=True)
    assert len(_row_ids(first)) == 50
    assert "Page 1 of 2" in first
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "action=id_number.reveal" in next_link and "page=2" in next_link
    second = client.get(next_link).get_data(as_text=True)
    assert len(_row_ids(second)) == 5
    assert not set(_row_ids(first)) & set(_row_ids(second))
    beyond = client.get("/admin/audit", query_string={"action": "id_number.reveal", "page": 9})
    assert beyond.status_code == 200 and _row_ids(beyond.get_data(as_text=True)) == []


def test_profile_changes_read_as_before_and_after(people, login_as, db):
    volunteer = people["nancheng_volunteer"]
    client = login_as(people["admin"])
    client.post(
        f"/volunteers/{volunteer.id}/edit",
        data={
            "name": "改过的名字",
            "political_status": volunteer.political_status,
            "organization_id": str(volunteer.organization_id),
            "emergency_contact_name": "新联系人",
            "emergency_contact_mobile": volunteer.emergency_contact_mobile,
        },
    )
    html = client.get("/admin/audit", query_string={"action": "volunteer.update_profile"}).get_data(as_text=True)
    assert len(_row_ids(html)) == 1
    assert "Person&#39;s name: 南城志愿者 → 改过的名字" in html
    assert "Emergency contact: 紧急联系人 → 新联系人" in html
