"""Prometheus counters of scans, check-ins and check-outs, counted when their transaction commits.

Installed once per process by the check-in area's setup (checkin/area.py); served on /metrics
with every other metric of the default registry (app/ops/observability.py).
"""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from app.extensions import db
from checkin.models import Scan

SCANS = Counter(
    "volunteers_scans", "Scans written to the scan log (committed), by method and result.", ["method", "result"]
)
CHECKINS = Counter("volunteers_checkins", "Check-ins made (committed), by method.", ["method"])
CHECKOUTS = Counter("volunteers_checkouts", "Check-outs made (committed), by method.", ["method"])

_PENDING_SCANS = "ops_pending_scans"


def _remember_new_scans(session: Session, flush_context: UOWTransaction) -> None:
    new = [(scan, scan.method, scan.action, scan.result) for scan in session.new if isinstance(scan, Scan)]
    if new:
        session.info.setdefault(_PENDING_SCANS, []).extend(new)


def _count_committed_scans(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released: the outer transaction may still roll back
        return
    for scan, method, action, result in session.info.pop(_PENDING_SCANS, ()):
        if not inspect(scan).persistent:  # flushed inside a savepoint that was rolled back
            continue
        SCANS.labels(method, result).inc()
        if result == "ok" and action == "check_in":
            CHECKINS.labels(method).inc()
        elif result == "ok" and action == "check_out":
            CHECKOUTS.labels(method).inc()


def _forget_rolled_back_scans(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction: nothing of it was committed
        session.info.pop(_PENDING_SCANS, None)


def install_scan_counters() -> None:
    """Once per process: db.session is one scoped session shared by every app made here."""
    if not event.contains(db.session, "after_flush", _remember_new_scans):
        event.listen(db.session, "after_flush", _remember_new_scans)
        event.listen(db.session, "after_commit", _count_committed_scans)
        event.listen(db.session, "after_soft_rollback", _forget_rolled_back_scans)
