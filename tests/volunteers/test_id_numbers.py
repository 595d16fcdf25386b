"""Resident ID numbers: GB 11643 validation, and the whole number kept from everyone but owner and admins."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.security import IdNumberError, check_digit, decrypt_id_number, mask_id_number, parse_id_number
from tests.support import confirm_registration
from volunteers.accounts.models import User

# The worked example of GB 11643-1999 (Beijing, Chaoyang district, born 1949-12-31), check character X.
STANDARD_EXAMPLE = "11010519491231002X"


def _with_check(first17: str) -> str:
    return first17 + check_digit(first17)


def test_standard_example_with_x_check_character_is_valid():
    parsed = parse_id_number(STANDARD_EXAMPLE)
    assert parsed.value == STANDARD_EXAMPLE
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"  # 17th digit 2 is even


def test_check_digit_follows_the_weighted_sum_mod_11():
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # the standard's weights, derived rather than copied
    first17 = "44190020050716123"
    remainder = sum(int(d) * w for d, w in zip(first17, weights, strict=False)) % 11
    assert check_digit(first17) == "10X98765432"[remainder]


def test_lower_case_x_is_accepted_and_normalised():
    parsed = parse_id_number(STANDARD_EXAMPLE.lower())
    assert parsed.value == STANDARD_EXAMPLE


def test_surrounding_spaces_are_ignored():
    assert parse_id_number(f"  {STANDARD_EXAMPLE} ").value == STANDARD_EXAMPLE


def test_odd_seventeenth_digit_is_male():
    parsed = parse_id_number(_with_check("44190020050716123"))
    assert (parsed.birth_date, parsed.sex) == (date(2005, 7, 16), "M")


def test_wrong_check_digit_is_refused():
    wrong = STANDARD_EXAMPLE[:17] + "1"
    with pytest.raises(IdNumberError, match="check digit"):
        parse_id_number(wrong)


@pytest.mark.parametrize("birth", ["19490230", "20011301", "20010100", "18991231"])
def test_impossible_birth_date_is_refused(birth):
    with pytest.raises(IdNumberError, match="birth date"):
        parse_id_number(_with_check(f"441900{birth}123"))


def test_future_birth_date_is_refused():
    with pytest.raises(IdNumberError, match="birth date"):
        parse_id_number(_with_check("44190020300101123"), today=date(2026, 11, 27))
    # the same number is fine once that day has come
    assert parse_id_number(_with_check("44190020300101123"), today=date(2030, 1, 1)).birth_date == date(2030, 1, 1)


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "18 characters"),
        ("1101051949123100", "18 characters"),
        ("11010519491231002XX", "18 characters"),
        ("1101051949123100XX", "17 digits"),
        ("11010519491231002Y", "17 digits"),
    ],
)
def test_malformed_numbers_are_refused(raw, reason):
    with pytest.raises(IdNumberError, match=reason):
        parse_id_number(raw)


def test_mask_shows_region_prefix_and_last_four_only():
    assert mask_id_number(STANDARD_EXAMPLE) == "1101**********002X"


def _raw(user: User) -> str:
    return decrypt_id_number(user.id_number_encrypted)


def test_no_full_id_number_in_pages_a_non_owner_sees(people, login_as, db):
    volunteer = people["nancheng_volunteer"]
    everyone = db.session.scalars(select(User)).all()
    raws = {u.id: _raw(u) for u in everyone}

    for staff in ("coordinator", "reviewer", "admin"):
        page = login_as(people[staff]).get(f"/volunteers/{volunteer.id}")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert volunteer.masked_id_number in body
        assert raws[volunteer.id] not in body

    admin = login_as(people["admin"])
    revealed = admin.post(f"/volunteers/{volunteer.id}/id-number")
    assert revealed.status_code == 200
    assert raws[volunteer.id] in revealed.get_data(as_text=True)  # an administrator above may see it ...

    for path in ("/admin/roles", "/admin/audit", "/admin/"):  # ... but never on the administration pages
        body = admin.get(path).get_data(as_text=True)
        assert not [raw for raw in raws.values() if raw in body], path

    audit_page = admin.get("/admin/audit?action=id_number.reveal").get_data(as_text=True)
    assert "Revealed an ID number" in audit_page
    assert people["admin"].name in audit_page and volunteer.name in audit_page


def test_owner_sees_the_whole_number_and_it_is_not_recorded(people, login_as, db):
    volunteer = people["nancheng_volunteer"]
    body = login_as(volunteer).get("/me").get_data(as_text=True)
    assert _raw(volunteer) in body
    assert not db.session.scalars(select(AuditLog).where(AuditLog.action == "id_number.reveal")).all()


def test_admin_reveal_is_recorded_with_actor_and_target(people, login_as, db):
    volunteer, admin = people["nancheng_volunteer"], people["admin"]
    client = login_as(admin)
    before = client.get(f"/volunteers/{volunteer.id}").get_data(as_text=True)
    assert "Show in full (recorded)" in before
    assert client.post(f"/volunteers/{volunteer.id}/id-number").status_code == 200
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "id_number.reveal")).one()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (admin.id, "User", volunteer.id)
    assert entry.organization_id == volunteer.organization_id
    assert entry.ip_address == "127.0.0.1"


@pytest.mark.parametrize("staff", ["coordinator", "reviewer", "dongcheng_admin"])
def test_others_cannot_reveal_and_nothing_is_recorded(people, login_as, db, staff):
    volunteer = people["nancheng_volunteer"]
    client = login_as(people[staff])
    if staff != "dongcheng_admin":
        assert "Show in full" not in client.get(f"/volunteers/{volunteer.id}").get_data(as_text=True)
    response = client.post(f"/volunteers/{volunteer.id}/id-number")
    assert response.status_code == 403
    assert _raw(volunteer) not in response.get_data(as_text=True)
    assert not db.session.scalars(select(AuditLog).where(AuditLog.action == "id_number.reveal")).all()


def test_no_full_id_number_in_log_output(caplog, client, make_client, registration_data, people, login_as, db):
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its loggers at WARN unless asked: at DEBUG it logs every statement, its
    # parameters and the rows read back, so the whole database traffic is searched too.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    data = registration_data()
    raw = data["id_number"]
    assert client.post("/register", data=data).status_code == 302
    assert confirm_registration(client, data["mobile"]).status_code == 302
    assert client.get("/me").status_code == 200
    client.post("/logout")
    assert client.post("/login", data={"mobile": data["mobile"], "password": data["password"]}).status_code == 302
    assert client.get("/me").status_code == 200
    # a failed registration with the same number, and an administrator looking at the new volunteer
    again = make_client().post("/register", data=registration_data(mobile="13698765432", id_number=raw))
    assert again.status_code == 422
    new_id = db.session.scalar(select(User.id).where(User.mobile == data["mobile"]))
    admin = login_as(people["admin"])
    assert admin.get(f"/volunteers/{new_id}").status_code == 200
    assert admin.post(f"/volunteers/{new_id}/id-number").status_code == 200

    assert any("INSERT INTO users" in r.getMessage() for r in caplog.records), "the SQL log was not captured"
    assert any("id_number.reveal" in repr(r.args) for r in caplog.records)
    assert raw not in caplog.text
    for record in caplog.records:
        assert raw not in record.getMessage()
        assert raw not in repr(record.args)
