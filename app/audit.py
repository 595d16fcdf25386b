"""The audit trail: every change of state worth asking about later is recorded here."""
from __future__ import annotations

from datetime import datetime

from app.extensions import db
from app.models import AuditLog, User


def record(action: str, *, actor: User | None, now: datetime, target=None, organization_id=None,
           before: dict | None = None, after: dict | None = None, note: str = "",
           ip_address: str = "") -> AuditLog:
    """Append one audit entry (flushed with the caller's transaction)."""
    entry = AuditLog(
        at=now,
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=getattr(target, "id", None),
        organization_id=organization_id,
        before=before,
        after=after,
        note=note,
        ip_address=ip_address[:45],
    )
    db.session.add(entry)
    return entry
