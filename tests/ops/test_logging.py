"""Structured logs: one JSON object per line with the request's id, never a full ID number or a password.

The handler under test is the one production installs (app.ops.logging.install_handler), writing to a
StringIO instead of stderr.
"""

from __future__ import annotations

import logging

import pytest

from app.ops.logging import REDACTED, redact
from tests.support import PASSWORD, confirm_registration

ID_NUMBER = "44190020000101123X"
OTHER_ID = "441900199912310018"
SECRET = "Sunflower-2026!"


@pytest.mark.parametrize(
    "text, expected",
    [
        (ID_NUMBER, "4419**********123X"),
        (f"身份证号{ID_NUMBER}已登记", "身份证号4419**********123X已登记"),
        (f"id={OTHER_ID}&x=1", "id=4419**********0018&x=1"),
        (f"ids {ID_NUMBER.lower()},{OTHER_ID}.", "ids 4419**********123x,4419**********0018."),
        (f"abc{OTHER_ID}def", "abc4419**********0018def"),
        ("mobile 13612345678 and volunteer 20260001", "mobile 13612345678 and volunteer 20260001"),
    ],
)
def test_id_numbers_are_masked_wherever_they_stand(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"password={SECRET}&mobile=13612345678",
        f'{{"password": "{SECRET}", "mobile": "13612345678"}}',
        f"{{'new_password': '{SECRET}'}}",
        f"password_confirm : {SECRET}",
        f"Authorization: Bearer {SECRET}",
        f"token dgv_{SECRET[:-1]}abc",
    ],
)
def test_password_like_values_are_redacted(text):
    cleaned = redact(text)
    assert SECRET not in cleaned and SECRET[:-1] not in cleaned
    assert REDACTED in cleaned


def test_a_line_is_one_json_object_with_the_context_fields(captured):
    logging.getLogger("volunteers.test").warning("line one\nline two %s", "与中文")
    [line] = captured()
    assert line["message"] == "line one\nline two 与中文"
    assert line["level"] == "WARNING" and line["logger"] == "volunteers.test"
    assert line["time"].endswith("Z")
    for field in ("request_id", "method", "path", "status", "duration_ms", "user_id"):
        assert field in line and line[field] is None  # outside a request
    assert "\n" not in captured.raw().rstrip("\n")


def test_arguments_extras_and_tracebacks_are_redacted(captured):
    log = logging.getLogger("volunteers.test")
    log.info(
        "registering %s with %s",
        ID_NUMBER,
        {"password": SECRET, "name": "林小雨"},
        extra={"form": {"id_number": OTHER_ID, "password_confirm": SECRET}, "token": "abc"},
    )
    try:
        raise ValueError(f"bad id {ID_NUMBER} password={SECRET}")
    except ValueError:
        log.exception("failed for %s", OTHER_ID)
    raw = captured.raw()
    assert ID_NUMBER not in raw and OTHER_ID not in raw and SECRET not in raw
    first, second = captured()
    assert first["form"] == {"id_number": "4419**********0018", "password_confirm": REDACTED}
    assert first["token"] == REDACTED
    assert "林小雨" in first["message"]
    assert "4419**********123X" in second["exception"] and "ValueError" in second["exception"]


def test_every_line_of_a_request_carries_its_id_and_the_id_is_echoed(app, client, captured):
    @app.get("/ops-test/log-twice")
    def log_twice():
        logging.getLogger("volunteers.test").info("first")
        logging.getLogger("volunteers.other").info("second")
        return "ok"

    response = client.get("/ops-test/log-twice", headers={"X-Request-ID": "req-0123456789abcdef"})
    assert response.headers["X-Request-ID"] == "req-0123456789abcdef"
    lines = [line for line in captured() if line["path"] == "/ops-test/log-twice"]
    assert [line["logger"] for line in lines] == ["volunteers.test", "volunteers.other", "app.access"]
    assert {line["request_id"] for line in lines} == {"req-0123456789abcdef"}
    access = lines[-1]
    assert access["method"] == "GET" and access["status"] == 200 and access["duration_ms"] >= 0
    assert access["endpoint"] == "log_twice"


@pytest.mark.parametrize("incoming", ["", "has space", "<script>", "x" * 200])
def test_an_insane_request_id_is_replaced(client, captured, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    generated = response.headers["X-Request-ID"]
    assert generated != incoming and len(generated) == 32 and generated.isalnum()
    [access] = [line for line in captured() if line["logger"] == "app.access"]
    assert access["request_id"] == generated


def test_each_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_registration_and_login_leave_no_id_number_or_password_in_the_logs(app, client, make_client, orgs, captured):
    """The whole flow, with SQL statement logging on (as during an incident): no plain ID number or password."""
    from datetime import date

    from app.security import demo_id_number

    id_number = demo_id_number(date(2001, 5, 17), 4321).value
    sql_log = logging.getLogger("sqlalchemy.engine")
    previous = sql_log.level
    sql_log.setLevel(logging.INFO)
    try:
        form = {
            "name": "林小雨",
            "mobile": "13612349876",
            "id_number": id_number,
            "password": SECRET,
            "password_confirm": SECRET,
            "political_status": "共青团员",
            "organization_id": str(orgs["nancheng_team"].id),
            "emergency_contact_name": "林大山",
            "emergency_contact_mobile": "13712345678",
        }
        registered = client.post("/register", data=form)
        assert registered.status_code == 302, registered.get_data(as_text=True)[-3000:]
        assert confirm_registration(client, form["mobile"]).status_code == 302
        client.get("/me")
        other = make_client()
        refused = other.post("/login", data={"mobile": "13612349876", "password": SECRET + "x"})
        assert refused.status_code == 401
        logged_in = other.post("/login", data={"mobile": "13612349876", "password": SECRET})
        assert logged_in.status_code == 302
        other.get(f"/volunteers/search?q={id_number}&password={SECRET}")
        other.get(f"/no-such-page/{id_number}")
    finally:
        sql_log.setLevel(previous)
    raw = captured.raw()
    assert "INSERT INTO users" in raw  # the statements were logged...
    assert id_number not in raw and id_number.lower() not in raw  # ...but no ID number
    assert SECRET not in raw and PASSWORD not in raw
    lines = captured()
    access = [line for line in lines if line["logger"] == "app.access"]
    assert [line["path"] for line in access][-1] == f"/no-such-page/{id_number[:4]}{'*' * 10}{id_number[-4:]}"
    assert all(line["request_id"] for line in access)
    me = next(line for line in access if line["path"] == "/me")
    assert me["user_id"] is not None and me["status"] == 200
    sql_lines = [line for line in lines if line["logger"] == "sqlalchemy.engine.Engine"]
    assert sql_lines and all(line["request_id"] for line in sql_lines if line["path"] == "/register")
