"""The real gunicorn with gunicorn.conf.py: JSON logs with request ids, /metrics summed over every worker
(a killed worker's counts included), a graceful reload (HUP) that keeps serving."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.helpers import gunicorn, production_env, wait_until

ID_NUMBER = "44190019991231002X"


@pytest.fixture
def server(database_url, keys, tmp_path):
    with gunicorn(production_env(database_url, keys), tmp_path, workers=2) as running_server:
        yield running_server


def readyz_count(client) -> float:
    answer = client.get("/metrics")
    assert answer.status == 200, answer.text
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "volunteers_http_requests_total" and sample.labels == {
                "method": "GET",
                "endpoint": "ops.readyz",
                "status": "200",
            }:
                return sample.value
    return 0.0


def test_logs_are_json_lines_with_request_ids(server):
    client = server.client()
    sent = [f"ops-test-{n:04d}" for n in range(6)]
    for request_id in sent:
        answer = client.get("/readyz", headers={"X-Request-ID": request_id})
        assert answer.status == 200 and answer.headers["X-Request-ID"] == request_id
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert client.get(f"/no-such-page/{ID_NUMBER}").status == 404

    def logged():
        return {line.get("request_id") for line in server.json_lines()} >= {*sent, generated}

    wait_until(logged, timeout=30, what="the access lines")
    lines = server.log_lines()
    assert all(line.startswith("{") for line in lines), [line for line in lines if not line.startswith("{")][:3]
    records = server.json_lines()
    assert any(record["logger"] == "gunicorn.error" and "Booting worker" in record["message"] for record in records)
    access = {record["request_id"]: record for record in records if record["logger"] == "app.access"}
    for request_id in sent:
        line = access[request_id]
        assert (line["method"], line["path"], line["status"], line["endpoint"]) == ("GET", "/readyz", 200, "ops.readyz")
        assert line["duration_ms"] >= 0 and line["remote_addr"] == "127.0.0.1"
        assert line["time"].endswith("Z") and line["level"] == "INFO"
    assert ID_NUMBER not in server.log_path.read_text()
    assert any(record["path"] == "/no-such-page/4419**********002X" for record in access.values())


def test_metrics_add_up_every_worker_even_a_killed_one(server):
    client = server.client()
    for _ in range(20):
        assert client.get("/readyz").status == 200
    wait_until(
        lambda: sum(r.get("path") == "/readyz" for r in server.json_lines()) >= 20, timeout=30, what="the access lines"
    )
    served = Counter(r["process"] for r in server.json_lines() if r.get("path") == "/readyz")
    assert readyz_count(client) == 20  # whichever worker answers the scrape, it reports both

    victim, victim_count = served.most_common(1)[0]
    assert victim in server.worker_pids()
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: len(server.worker_pids()) == 2 and victim not in server.worker_pids(),
        timeout=60,
        what="gunicorn to replace the killed worker",
    )
    for _ in range(5):
        assert client.get("/readyz").status == 200
    assert readyz_count(client) == 25  # the dead worker's requests still count
    assert victim_count >= 1


def test_a_graceful_reload_keeps_serving(server):
    client = server.client()
    before = server.worker_pids()
    assert len(before) == 2
    os.kill(server.process.pid, signal.SIGHUP)  # what `systemctl reload` sends: new workers with the new code
    wait_until(
        lambda: len(server.worker_pids()) == 2 and not (server.worker_pids() & before),
        timeout=90,
        what="new workers after HUP",
    )
    assert client.get("/readyz").status == 200
    assert server.process.poll() is None
