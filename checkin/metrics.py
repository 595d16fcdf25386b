"""Prometheus counters of scans, check-ins and check-outs, counted when their transaction commits.

Installed once per process by the check-in area's setup (checkin/area.py); served on /metrics
with every other metric of the default registry (app/ops/observability.py).
"""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db

SCANS = Counter(
    "volunteers_scans", "Scans written to the scan log (committed), by method and result.", ["method", "result"]
)
CHECKINS = Counter("volunteers_checkins", "Check-ins made (committed), by method.", ["method"])
CHECKOUTS = Counter("volunteers_checkouts", "Check-outs made (committed), by method.", ["method"])

_PENDING_SCANS = "ops_pending_scans"


def remember_scan(session: Session, method: str, action: str, result: str) -> None:
    """A scan-log row was written (checkin.engine.write): count it once its transaction commits."""
    session.info.setdefault(_PENDING_SCANS, []).append((method, action, result))


def mark(session: Session) -> int:
    """How many scans wait to be counted now (see forget_since)."""
    return len(session.info.get(_PENDING_SCANS, ()))


def forget_since(session: Session, mark: int) -> None:
    """Forget the scans remembered since `mark`: their savepoint was rolled back."""
    del session.info.setdefault(_PENDING_SCANS, [])[mark:]


def _count_committed_scans(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released: the outer transaction may still roll back
        return
    for method, action, result in session.info.pop(_PENDING_SCANS, ()):
        SCANS.labels(method, result).inc()
        if result == "ok" and action == "check_in":
            CHECKINS.labels(method).inc()
        elif result == "ok" and action == "check_out":
            CHECKOUTS.labels(method).inc()


def _forget_rolled_back_scans(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rolled-back transaction wrote nothing. (A savepoint's rollback forgets nothing: the engine's own
    savepoints roll back before its write, so what was remembered was written.)"""
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_SCANS, None)


def install_scan_counters() -> None:
    """Once per process: db.session is one scoped session shared by every app made here."""
    if not event.contains(db.session, "after_commit", _count_committed_scans):
        event.listen(db.session, "after_commit", _count_committed_scans)
        event.listen(db.session, "after_soft_rollback", _forget_rolled_back_scans)
