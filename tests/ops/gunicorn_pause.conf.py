"""Test-only gunicorn configuration: the production one (gunicorn.conf.py) plus a pause inside a transaction.

With OPS_PAUSE_ON="INSERT INTO scans" (a statement prefix), OPS_PAUSE_NTH=n and OPS_PAUSE_MARKER=<file>,
the first worker to reach the n-th such statement of one transaction stops right before sending it:
its earlier writes of that transaction are in the database, uncommitted. It writes the marker (JSON:
its pid, the database backend's pid, the writes made so far in the transaction) and waits there for
the test to SIGKILL it. Only one worker ever pauses (the marker is created exclusively), so the
worker gunicorn starts in its place serves normally.
"""

import json
import os
import threading
from pathlib import Path

_MAIN = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
_settings = {"__file__": str(_MAIN), "__name__": "gunicorn_conf"}
exec(compile(_MAIN.read_text(), str(_MAIN), "exec"), _settings)
globals().update({name: value for name, value in _settings.items() if not name.startswith("__")})


def post_worker_init(worker):
    """Install the pause (a SQLAlchemy cursor hook) in this worker, if the test asked for one."""
    prefix = os.environ.get("OPS_PAUSE_ON", "").upper()
    marker = os.environ.get("OPS_PAUSE_MARKER")
    nth = int(os.environ.get("OPS_PAUSE_NTH", "1"))
    if not prefix or not marker:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    state = {"writes": [], "count": 0}

    def reset(connection):
        state["writes"], state["count"] = [], 0

    def before_execute(connection, cursor, statement, parameters, context, executemany):
        head = " ".join(statement.split())[:120]
        if head.upper().startswith(prefix):
            state["count"] += 1
            if state["count"] == nth and _claim(marker, connection, state["writes"]):
                threading.Event().wait()  # until the test kills this worker
        first = head.split(" ", 1)[0].upper()
        if first in ("INSERT", "UPDATE", "DELETE") or (first == "WITH" and ("(INSERT" in head or "(UPDATE" in head)):
            state["writes"].append(head)  # a WITH ... (UPDATE ...) statement writes too (a data-modifying CTE)

    event.listen(Engine, "before_cursor_execute", before_execute)
    event.listen(Engine, "commit", reset)
    event.listen(Engine, "rollback", reset)


def _claim(marker: str, connection, writes: list) -> bool:
    try:
        descriptor = os.open(marker + ".claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(descriptor)
    dbapi = connection.connection.dbapi_connection
    backend = dbapi.info.backend_pid if hasattr(dbapi, "info") else None
    partial = marker + ".partial"
    Path(partial).write_text(json.dumps({"pid": os.getpid(), "backend_pid": backend, "writes": writes}))
    os.replace(partial, marker)
    return True
