"""A gunicorn worker SIGKILLed in the middle of a check-in or a verification leaves no partial rows.

The real gunicorn (gunicorn.conf.py, production configuration) serves the real request; the test-only
configuration tests/ops/gunicorn_pause.conf.py stops the worker right before one statement of the
request's transaction, after its first writes. The test waits for that (bounded), kills the worker
with SIGKILL, then checks the database: nothing of the transaction is there, every invariant between
the tables holds, and the same request sent again (to the worker gunicorn started in its place) works.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.timeutil import utcnow
from checkin.tokens import badge_token
from tests.ops.helpers import ON_POSTGRES, ROOT, gunicorn, production_env, wait_until
from tests.support import PASSWORD

PAUSE_CONFIG = ROOT / "tests" / "ops" / "gunicorn_pause.conf.py"


@pytest.fixture
def app_overrides(keys):
    """The test's app signs badge tokens with the same keys as the production processes it starts."""
    return dict(keys)


def rows(database_url: str, query: str) -> list[tuple]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def send_in_background(call) -> tuple[threading.Thread, dict]:
    """Run an HTTP call in a thread (it hangs while the worker is paused); the outcome lands in the dict."""
    outcome: dict = {}

    def run():
        try:
            outcome["answer"] = call()
        except Exception as error:  # noqa: BLE001 - the worker died under the request: that is expected
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def pause_and_kill(server, marker: Path, database_url: str, request_thread: threading.Thread) -> dict:
    """Wait for the worker to pause mid-transaction, SIGKILL it, and wait until its transaction is gone."""
    paused = json.loads(
        wait_until(
            lambda: marker.exists() and marker.read_text(),
            timeout=120,
            what="the worker to pause inside its transaction",
        )
    )
    assert paused["pid"] in server.worker_pids()
    os.kill(paused["pid"], signal.SIGKILL)
    request_thread.join(timeout=60)
    assert not request_thread.is_alive(), "the request did not end when its worker was killed"
    if ON_POSTGRES:  # the server ends the dead client's session and rolls its transaction back
        wait_until(
            lambda: not rows(database_url, f"SELECT pid FROM pg_stat_activity WHERE pid = {paused['backend_pid']}"),
            timeout=60,
            what="PostgreSQL to end the killed worker's session",
        )
    wait_until(
        lambda: server.worker_pids() and paused["pid"] not in server.worker_pids(),
        timeout=60,
        what="gunicorn to replace the killed worker",
    )
    return paused


def pause_env(database_url: str, keys: dict, marker: Path, statement: str, nth: int = 1) -> dict:
    url = make_url(database_url)
    if ON_POSTGRES:
        url = url.update_query_dict({"application_name": "ops-killed-worker"})
    return production_env(
        url.render_as_string(hide_password=False),
        keys,
        OPS_PAUSE_ON=statement,
        OPS_PAUSE_NTH=nth,
        OPS_PAUSE_MARKER=marker,
        GUNICORN_TIMEOUT=300,
    )


CHECKIN_INVARIANTS = {
    "attendance without its check-in scan": "SELECT a.id FROM attendances a WHERE NOT EXISTS (SELECT 1 FROM scans s WHERE s.attendance_id = a.id "
    "AND s.action = 'check_in' AND s.result = 'ok')",
    "accepted scan without its attendance": "SELECT s.id FROM scans s WHERE s.result = 'ok' AND s.action IN ('check_in', 'check_out') "
    "AND (s.attendance_id IS NULL OR NOT EXISTS (SELECT 1 FROM attendances a WHERE a.id = s.attendance_id))",
    "closed attendance without its check-out scan": "SELECT a.id FROM attendances a WHERE a.status = 'closed' AND NOT EXISTS (SELECT 1 FROM scans s "
    "WHERE s.attendance_id = a.id AND s.action = 'check_out' AND s.result = 'ok')",
}


def test_worker_killed_in_the_middle_of_a_check_in(db, database_url, scene, keys, tmp_path):
    marker = tmp_path / "paused.json"
    # SQLite writes the attendance and then its scan: the worker dies between the two. On PostgreSQL one
    # statement writes both (checkin.engine.write): it dies right before it, the volunteer locked by its snapshot.
    statement = "WITH made AS (INSERT INTO attendances" if ON_POSTGRES else "INSERT INTO scans"
    env = pause_env(database_url, keys, marker, statement)
    token = badge_token(scene.volunteer.id, now=utcnow())
    body = {
        "event_id": scene.event.id,
        "device_id": "gate-1",
        "scans": [{"client_scan_id": "scan-1", "badge_token": token}],
    }
    auth = {"Authorization": f"Bearer {scene.api_token}"}
    with gunicorn(env, tmp_path, workers=1, config=PAUSE_CONFIG) as server:
        client = server.client(timeout=120)
        thread, outcome = send_in_background(lambda: client.post("/api/v1/scans", json_body=body, headers=auth))
        paused = pause_and_kill(server, marker, database_url, thread)
        if ON_POSTGRES:  # it had read the volunteer under their lock and was about to check them in
            assert any(write.startswith("WITH locked AS (UPDATE users") for write in paused["writes"]), paused["writes"]
        else:  # it had checked the volunteer in (the attendance row was written) and was about to log the scan
            assert any(write.startswith("INSERT INTO attendances") for write in paused["writes"]), paused["writes"]
        assert "answer" not in outcome  # the caller got no answer: its scanner will send the scan again

        assert rows(database_url, "SELECT id FROM attendances") == []
        assert rows(database_url, "SELECT id FROM scans") == []
        for problem, query in CHECKIN_INVARIANTS.items():
            assert rows(database_url, query) == [], problem

        # The scanner sends the same scan again; the new worker applies it once.
        again = client.post("/api/v1/scans", json_body=body, headers=auth)
        assert again.status == 200, again.text
        result = again.json()["results"][0]
        assert result["ok"] is True and result["action"] == "check_in"
    attendances = rows(database_url, "SELECT user_id, status FROM attendances")
    assert attendances == [(scene.volunteer.id, "open")]
    assert len(rows(database_url, "SELECT id FROM scans WHERE result = 'ok'")) == 1
    for problem, query in CHECKIN_INVARIANTS.items():
        assert rows(database_url, query) == [], problem


LEDGER_INVARIANTS = {
    "state differing from the entry's latest status event": "SELECT s.entry_id FROM hour_entry_states s WHERE s.status <> (SELECT e.status FROM hour_entry_events e "
    "WHERE e.entry_id = s.entry_id ORDER BY e.id DESC LIMIT 1)",
    "entry without a state or a status event": "SELECT h.id FROM hour_entries h WHERE NOT EXISTS (SELECT 1 FROM hour_entry_states s WHERE s.entry_id = h.id) "
    "OR NOT EXISTS (SELECT 1 FROM hour_entry_events e WHERE e.entry_id = h.id)",
    "summary differing from the verified entries": "SELECT v.volunteer_id FROM (SELECT volunteer_id, service_year, sum(minutes) AS minutes "
    "FROM hour_entry_states WHERE status = 'verified' GROUP BY volunteer_id, service_year) v "
    "LEFT JOIN hour_summaries h ON h.volunteer_id = v.volunteer_id AND h.service_year = v.service_year "
    "WHERE h.scan_minutes IS NULL OR h.scan_minutes + h.backfill_minutes <> v.minutes "
    "UNION SELECT h.volunteer_id FROM hour_summaries h WHERE h.scan_minutes + h.backfill_minutes <> 0 "
    "AND NOT EXISTS (SELECT 1 FROM hour_entry_states s WHERE s.volunteer_id = h.volunteer_id "
    "AND s.service_year = h.service_year AND s.status = 'verified')",
    "verification without its audit record": "SELECT e.id FROM hour_entry_events e WHERE e.status = 'verified' AND NOT EXISTS (SELECT 1 FROM audit_log a "
    "WHERE a.action = 'hours.verify' AND a.target_id = e.entry_id)",
}


def test_worker_killed_in_the_middle_of_a_verification(db, database_url, submitted_hours, keys, tmp_path):
    """Killed after verifying two of three entries (states, status events, summaries and one audit row
    written) and before the second audit row: the whole decision is gone, then made again in full."""
    marker = tmp_path / "paused.json"
    env = pause_env(database_url, keys, marker, "INSERT INTO audit_log", nth=2)
    event_id = submitted_hours.event.id
    chosen = [str(entry.id) for entry in submitted_hours.entries[:2]]
    reviewer = submitted_hours.reviewer
    with gunicorn(env, tmp_path, workers=1, config=PAUSE_CONFIG) as server:
        client = server.client(timeout=120)
        client.login(reviewer.mobile, PASSWORD)
        token = client.csrf_token(f"/hours/review/events/{event_id}")
        form = {"csrf_token": token, "decision": "verify", "entry_ids": chosen, "reason": ""}
        thread, outcome = send_in_background(lambda: client.post(f"/hours/review/events/{event_id}", data=form))
        paused = pause_and_kill(server, marker, database_url, thread)
        assert sum(write.startswith("UPDATE hour_entry_states") for write in paused["writes"]) == 2, paused["writes"]
        assert sum(write.startswith("INSERT INTO hour_entry_events") for write in paused["writes"]) == 2
        assert any(write.startswith("INSERT INTO hour_summaries") for write in paused["writes"])
        assert "answer" not in outcome

        statuses = rows(database_url, "SELECT status FROM hour_entry_states ORDER BY entry_id")
        assert statuses == [("submitted",)] * 3
        assert rows(database_url, "SELECT id FROM hour_entry_events WHERE status = 'verified'") == []
        assert rows(database_url, "SELECT volunteer_id FROM hour_summaries") == []
        assert rows(database_url, "SELECT id FROM audit_log WHERE action = 'hours.verify'") == []
        for problem, query in LEDGER_INVARIANTS.items():
            assert rows(database_url, query) == [], problem

        # The reviewer presses the button again: the decision is made, whole.
        again = client.post(f"/hours/review/events/{event_id}", data=form)
        assert again.status == 302, again.text[:500]
    statuses = rows(database_url, "SELECT status FROM hour_entry_states ORDER BY entry_id")
    assert statuses == [("verified",), ("verified",), ("submitted",)]
    summaries = rows(database_url, "SELECT volunteer_id, scan_minutes FROM hour_summaries ORDER BY volunteer_id")
    assert summaries == sorted((entry.volunteer_id, entry.minutes) for entry in submitted_hours.entries[:2])
    for problem, query in LEDGER_INVARIANTS.items():
        assert rows(database_url, query) == [], problem
