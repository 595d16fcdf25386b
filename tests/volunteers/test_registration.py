"""Registration: every kind of bad input is refused beside its field and writes nothing; a good one lands."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from app.audit import AuditLog
from app.security import check_digit, decrypt_id_number, hash_id_number
from app.timeutil import local_today
from tests.support import confirm_registration
from volunteers.accounts.models import User
from volunteers.accounts.services import find_by_id_number


def _young_birth(years: int) -> date:
    today = local_today()
    return date(today.year - years, today.month, 1) - timedelta(days=1)


@pytest.fixture
def existing(make_user):
    """Someone already registered, whose mobile and ID number are taken."""
    return make_user(mobile="13500000001")


def _bad_cases(registration_data, existing, new_id_number):
    existing_id = decrypt_id_number(existing.id_number_encrypted)
    good_id = registration_data()["id_number"]
    wrong_check = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    child = new_id_number(_young_birth(12))
    return {
        "wrong_check_digit": ({"id_number": wrong_check}, "id_number", "check digit is wrong"),
        "id_too_short": ({"id_number": good_id[:17]}, "id_number", "must be 18 characters"),
        "id_impossible_date": (
            {"id_number": "44190020010230123" + check_digit("44190020010230123")},
            "id_number",
            "impossible birth date",
        ),
        "duplicate_mobile": ({"mobile": existing.mobile}, "mobile", "This mobile number is already registered."),
        "duplicate_id_number": ({"id_number": existing_id}, "id_number", "This ID number is already registered."),
        "short_password": (
            {"password": "Ab1-x", "password_confirm": "Ab1-x"},
            "password",
            "Password must be at least 8 characters.",
        ),
        "password_is_mobile": (
            {"password": "13612345678", "password_confirm": "13612345678"},
            "password",
            "Password must not contain your mobile number.",
        ),
        "password_contains_mobile": (
            {"password": "x13612345678!", "password_confirm": "x13612345678!"},
            "password",
            "Password must not contain your mobile number.",
        ),
        "password_too_simple": (
            {"password": "aaaaaaaaaa", "password_confirm": "aaaaaaaaaa"},
            "password",
            "Password is too simple",
        ),
        "mismatched_confirmation": (
            {"password_confirm": "Sunflower-2027"},
            "password_confirm",
            "Passwords do not match.",
        ),
        "bad_mobile_short": ({"mobile": "1361234567"}, "mobile", "Mobile number must be 11 digits starting with 1."),
        "bad_mobile_prefix": ({"mobile": "23612345678"}, "mobile", "Mobile number must be 11 digits starting with 1."),
        "bad_mobile_letters": ({"mobile": "1361234567a"}, "mobile", "Mobile number must be 11 digits starting with 1."),
        "missing_name": ({"name": ""}, "name", "This field is required."),
        "unknown_organization": ({"organization_id": "999999"}, "organization_id", "Not a valid choice"),
        "bad_emergency_mobile": (
            {"emergency_contact_mobile": "110"},
            "emergency_contact_mobile",
            "Mobile number must be 11 digits",
        ),
        "activist_without_date": (
            {"political_status": "入团积极分子"},
            "activist_since",
            "Enter the date you became a membership activist.",
        ),
        "activist_since_future": (
            {"political_status": "入团积极分子", "activist_since": "2999-01-01"},
            "activist_since",
            "This date is in the future.",
        ),
        "activist_since_not_a_date": (
            {"political_status": "入团积极分子", "activist_since": "soon"},
            "activist_since",
            "Not a valid date value.",
        ),
        "under_14_without_guardian": (
            {"id_number": child},
            "guardian_name",
            "Volunteers under 14 need a guardian's name.",
        ),
        "under_14_without_guardian_mobile": (
            {"id_number": child, "guardian_name": "林妈妈"},
            "guardian_mobile",
            "Volunteers under 14 need a guardian's mobile number.",
        ),
        "under_14_without_consent": (
            {"id_number": child, "guardian_name": "林妈妈", "guardian_mobile": "13512345678"},
            "guardian_consent",
            "Volunteers under 14 need their guardian's consent.",
        ),
    }


CASES = [
    "wrong_check_digit",
    "id_too_short",
    "id_impossible_date",
    "duplicate_mobile",
    "duplicate_id_number",
    "short_password",
    "password_is_mobile",
    "password_contains_mobile",
    "password_too_simple",
    "mismatched_confirmation",
    "bad_mobile_short",
    "bad_mobile_prefix",
    "bad_mobile_letters",
    "missing_name",
    "unknown_organization",
    "bad_emergency_mobile",
    "activist_without_date",
    "activist_since_future",
    "activist_since_not_a_date",
    "under_14_without_guardian",
    "under_14_without_guardian_mobile",
    "under_14_without_consent",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_beside_the_field_and_writes_nothing(
    case, client, registration_data, existing, new_id_number, count_rows, field_error
):
    overrides, field, message = _bad_cases(registration_data, existing, new_id_number)[case]
    before = count_rows()
    response = client.post("/register", data=registration_data(**overrides))
    assert response.status_code == 422
    block = field_error(response.get_data(as_text=True), field)
    if message:
        assert message in block
    assert count_rows() == before
    assert client.get("/me").status_code == 302  # nobody was logged in either


def test_markup_in_the_name_is_shown_escaped(client, registration_data, count_rows):
    markup = "<script>alert(1)</script>"
    before = count_rows()
    refused = client.post("/register", data=registration_data(name=markup, password_confirm="different-1"))
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert markup not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert count_rows() == before

    # accepted as a name, it is still only ever shown as text
    accepted = client.post("/register", data=registration_data(name=markup))
    assert accepted.status_code == 302
    confirm_registration(client, registration_data()["mobile"])
    profile = client.get("/me").get_data(as_text=True)
    assert markup not in profile
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in profile


def test_valid_registration_derives_birth_date_and_sex_and_hides_the_id_number(client, registration_data, db):
    data = registration_data(id_number=None)
    first17 = "44190020050716103"  # born 2005-07-16, 17th digit 3: male; check character X
    data["id_number"] = first17 + check_digit(first17)
    assert data["id_number"].endswith("X")
    response = client.post("/register", data=dict(data, id_number=data["id_number"].lower()))
    assert response.status_code == 302
    assert response.headers["Location"] == "/register/confirm"
    assert confirm_registration(client, data["mobile"]).headers["Location"] == "/me"

    user = db.session.scalars(select(User).where(User.mobile == data["mobile"])).one()
    assert user.birth_date == date(2005, 7, 16)
    assert user.sex == "M"
    assert re.fullmatch(r"DG\d{4}\d{7}", user.volunteer_number)
    assert user.password_hash.startswith("$argon2id$")
    assert user.masked_id_number == data["id_number"][:4] + "*" * 10 + data["id_number"][-4:]

    # encrypted at rest: the raw number is in no column of the row, not even in part beyond the masked ends
    row = db.session.execute(text("SELECT * FROM users WHERE id = :id"), {"id": user.id}).mappings().one()
    for column, value in row.items():
        assert data["id_number"] not in str(value), column
        assert data["id_number"][4:14] not in str(value), column
    # ... and found through its keyed hash
    assert row["id_number_hash"] == hash_id_number(data["id_number"])
    assert find_by_id_number(data["id_number"].lower()).id == user.id
    assert decrypt_id_number(row["id_number_encrypted"]) == data["id_number"]

    profile = client.get("/me").get_data(as_text=True)
    assert user.volunteer_number in profile
    assert data["id_number"] in profile  # the owner sees it whole
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "volunteer.register")).one()
    assert (entry.actor_id, entry.target_id) == (user.id, user.id)


def test_duplicate_id_number_is_found_whatever_the_case_of_x(
    client, make_client, registration_data, count_rows, field_error
):
    number = "44190020050716103X"
    assert client.post("/register", data=registration_data(id_number=number)).status_code == 302
    confirm_registration(client, registration_data()["mobile"])  # a proved registration holds its ID number
    before = count_rows()
    again = make_client().post("/register", data=registration_data(mobile="13612345670", id_number=number.lower()))
    assert again.status_code == 422
    assert "already registered" in field_error(again.get_data(as_text=True), "id_number")
    assert count_rows() == before


def test_volunteer_numbers_are_distinct(client, make_client, registration_data, db):
    for mobile in ("13612345671", "13612345672", "13612345673"):
        assert make_client().post("/register", data=registration_data(mobile=mobile)).status_code == 302
    numbers = db.session.scalars(select(User.volunteer_number)).all()
    assert len(numbers) == len(set(numbers)) == 3


def test_under_14_with_guardian_and_consent_registers(client, registration_data, new_id_number, db):
    data = registration_data(
        id_number=new_id_number(_young_birth(12)),
        guardian_name="林妈妈",
        guardian_mobile="13512345678",
        guardian_consent="y",
    )
    assert client.post("/register", data=data).status_code == 302
    user = db.session.scalars(select(User).where(User.mobile == data["mobile"])).one()
    assert user.guardian_name == "林妈妈"
    assert user.guardian_consent_at is not None


def test_registration_form_renders(client):
    response = client.get("/register")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in (
        "name",
        "mobile",
        "id_number",
        "password",
        "password_confirm",
        "organization_id",
        "guardian_name",
        "guardian_consent",
    ):
        assert f'id="field-{name}"' in html


def test_logged_in_user_is_sent_to_the_profile(client, registration_data):
    assert client.post("/register", data=registration_data()).status_code == 302
    confirm_registration(client, registration_data()["mobile"])
    assert client.get("/register").headers["Location"] == "/me"


def test_templates_autoescape_and_never_mark_user_input_safe(app):
    from pathlib import Path

    assert app.jinja_env.autoescape("volunteers/profile.html") is True
    root = Path(app.template_folder)
    for folder in ("volunteers", "admin"):
        for template in (root / folder).glob("*.html"):
            source = template.read_text(encoding="utf-8")
            assert "|safe" not in source.replace(" ", "") and "autoescape false" not in source, template
