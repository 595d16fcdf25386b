"""The database itself refuses UPDATE and DELETE on the ledger's rows (triggers on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hours.ledger.services import record_attendance
from hours.review.verification import submit_entries
from tests.support import local


@pytest.fixture
def recorded(db, people, service, make_attendance, now):
    _event, shift = service
    (entry,) = record_attendance(
        make_attendance(people["volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 12)), now=now
    )
    submit_entries(entry.event, by=people["coordinator"], now=now)
    db.session.commit()
    return entry


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE hour_entries SET minutes = 600 WHERE id = :id",
        "UPDATE hour_entries SET volunteer_id = volunteer_id WHERE id = :id",
        "DELETE FROM hour_entries WHERE id = :id",
        "UPDATE hour_entry_events SET status = 'verified' WHERE entry_id = :id",
        "DELETE FROM hour_entry_events WHERE entry_id = :id",
    ],
)
def test_raw_sql_cannot_change_the_ledger(db, recorded, statement):
    with db.engine.connect() as connection, pytest.raises(DBAPIError) as refused, connection.begin():
        connection.execute(text(statement), {"id": recorded.id})
    assert "append-only" in str(refused.value)
    with db.engine.connect() as connection:
        minutes = connection.execute(
            text("SELECT minutes FROM hour_entries WHERE id = :id"), {"id": recorded.id}
        ).scalar_one()
        events = connection.execute(
            text("SELECT count(*) FROM hour_entry_events WHERE entry_id = :id"), {"id": recorded.id}
        ).scalar_one()
    assert (minutes, events) == (180, 2)


def test_the_orm_cannot_change_an_entry_either(db, recorded):
    recorded.minutes = 1
    with pytest.raises(DBAPIError):
        db.session.commit()
    db.session.rollback()


def test_inserting_stays_possible(db, recorded, people, service, make_attendance, now):
    _event, shift = service
    more = record_attendance(
        make_attendance(people["other_volunteer"], shift, local(2026, 2, 10, 9), local(2026, 2, 10, 10)), now=now
    )
    db.session.commit()
    assert [e.minutes for e in more] == [60]
