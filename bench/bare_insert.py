"""The baseline of bench/checkin.py: a bare Flask endpoint that reads the same JSON body and does one INSERT.

    DATABASE_URL=postgresql+psycopg://... gunicorn -w 4 --chdir bench bare_insert:app

It uses the application's database stack (SQLAlchemy's pool with psycopg 3 and the same
pool_pre_ping), so the difference to POST /api/v1/scans is the application's own work.
The table bench_pings is created by bench/checkin.py.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
app = Flask(__name__)
INSERT = text("INSERT INTO bench_pings (device_id, client_scan_id, created_at) VALUES (:device, :client, now())")


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
