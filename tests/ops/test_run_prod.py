"""`make run-prod` (scripts/run_prod.sh): PostgreSQL database created, secrets generated once, migrations applied,
demo data loaded, gunicorn and the scheduler running; Ctrl-C (SIGINT to the process group) stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid

from sqlalchemy import create_engine, text

from tests.ops.helpers import ROOT, HttpClient, end_process_group, free_port, group_alive, postgres_only, wait_until


def _postgres(database: str):
    return create_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}", isolation_level="AUTOCOMMIT")


@postgres_only
def test_run_prod_starts_gunicorn_and_the_scheduler_and_ctrl_c_stops_both(tmp_path):
    database = f"ops_runprod_{uuid.uuid4().hex[:8]}"
    port = free_port()
    env_file = tmp_path / "prod.env"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PROD_DB": database,
        "PROD_ENV_FILE": str(env_file),
        "PROD_PORT": str(port),
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "SCHEDULER_RETRY_SECONDS": "2",
    }
    log_path = tmp_path / "run-prod.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["bash", "scripts/run_prod.sh"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = HttpClient(f"http://127.0.0.1:{port}", timeout=30)

    def ready():
        assert process.poll() is None, log_path.read_text()[-3000:]
        try:
            return client.get("/readyz").status == 200
        except OSError:
            return False

    admin = _postgres("postgres")
    try:
        wait_until(ready, timeout=240, what="run-prod to be ready", interval=0.5)
        settings = dict(
            line.split("=", 1) for line in env_file.read_text().splitlines() if line and not line.startswith("#")
        )
        assert env_file.stat().st_mode & 0o077 == 0
        assert settings["APP_ENV"] == "production" and settings["SESSION_COOKIE_SECURE"] == "false"
        assert len(settings["SECRET_KEY"]) >= 32 and settings["DATABASE_URL"].endswith(f"/{database}")
        assert client.get("/").status == 200
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {settings['METRICS_TOKEN']}"})
        assert metrics.status == 200 and "volunteers_http_requests_total" in metrics.text

        engine = _postgres(database)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM organizations")).scalar() > 30  # demo data
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

            def scheduler_holds_the_lock():
                with engine.connect() as connection:
                    return connection.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                            "AND application_name LIKE 'scheduler %'"
                        ),
                        {"db": database},
                    ).scalar()

            wait_until(scheduler_holds_the_lock, timeout=120, what="the scheduler to take its lock", interval=0.5)
        finally:
            engine.dispose()

        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole process group
        process.wait(timeout=90)
        wait_until(lambda: not group_alive(process.pid), timeout=60, what="gunicorn and the scheduler to stop")
        output = log_path.read_text()
        assert "demo data loaded" in output and "creating database" in output
    finally:
        end_process_group(process)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
