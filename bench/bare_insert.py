"""The baseline of bench/checkin.py: a bare Flask endpoint that reads the same JSON body and does one INSERT.

    DATABASE_URL=postgresql+psycopg://... gunicorn -w 4 --chdir bench bare_insert:app

It uses the application's database stack (SQLAlchemy's pool with psycopg 3, or SQLite with the app's
settings, and the same pool_recycle instead of a pre-ping), so the difference to POST /api/v1/scans is the
application's own work.
The table bench_pings is created by bench/checkin.py.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, event, text

URL = os.environ["DATABASE_URL"]
engine = create_engine(
    URL, pool_recycle=1800, **({"connect_args": {"timeout": 30}} if URL.startswith("sqlite") else {})
)


@event.listens_for(engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """The application's SQLite settings (app/__init__.py): WAL, NORMAL sync, a busy timeout."""
    if URL.startswith("sqlite"):
        cursor = dbapi_connection.cursor()
        for pragma in ("busy_timeout=10000", "journal_mode=WAL", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


app = Flask(__name__)
INSERT = text(
    "INSERT INTO bench_pings (device_id, client_scan_id, created_at) VALUES (:device, :client, CURRENT_TIMESTAMP)"
)


@app.post("/api/v1/scans")
def insert_one():
    """Parse the scan body and store one row."""
    body = request.get_json(silent=True) or {}
    scan = (body.get("scans") or [{}])[0]
    with engine.begin() as connection:
        connection.execute(
            INSERT, {"device": str(body.get("device_id", ""))[:64], "client": str(scan.get("client_scan_id", ""))[:64]}
        )
    return jsonify(ok=True)


@app.get("/healthz")
def healthz():
    """Ready."""
    return jsonify(status="ok")
