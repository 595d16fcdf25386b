"""The lock that lets exactly one scheduler process run jobs.

PostgreSQL: a session-level advisory lock taken on a dedicated connection that stays open
while the scheduler runs; when the process dies its connection closes and PostgreSQL frees
the lock, so a waiting standby takes over on its next try.
SQLite (and any other database): a row in `scheduler_locks` with the holder's id and a
heartbeat; it is taken with a guarded UPDATE/INSERT when free or when the heartbeat is older
than the timeout, and the holder refreshes the heartbeat while it runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import String, create_engine, delete, insert, text, update
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.pool import NullPool

from app.extensions import Model, db
from app.timeutil import UTCDateTime

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)


class SchedulerLock(Model):
    """Who holds a named scheduler lock, and when they last said they are alive (lock-row mode)."""

    __tablename__ = "scheduler_locks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder_id: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


def new_holder_id() -> str:
    """host:pid:random, unique per scheduler instance."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class RowLock:
    """A lock row with a heartbeat; a holder whose heartbeat is older than `timeout` has lost it."""

    kind = "row"

    def __init__(self, engine: Engine, name: str, holder_id: str, timeout: timedelta):
        self.engine = engine
        self.name = name
        self.holder_id = holder_id
        self.timeout = timeout

    def acquire(self, now: datetime) -> bool:
        """Take the lock when it is free, already ours, or its holder's heartbeat is stale."""
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(SchedulerLock)
                .where(
                    SchedulerLock.name == self.name,
                    (SchedulerLock.holder_id == self.holder_id) | (SchedulerLock.heartbeat_at < now - self.timeout),
                )
                .values(holder_id=self.holder_id, acquired_at=now, heartbeat_at=now)
            ).rowcount
        if taken == 1:
            return True
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(SchedulerLock).values(
                        name=self.name, holder_id=self.holder_id, acquired_at=now, heartbeat_at=now
                    )
                )
        except IntegrityError:
            return False  # someone else holds it and is alive
        return True

    def refresh(self, now: datetime) -> bool:
        """Renew the heartbeat; False when the lock was taken over (we must stop)."""
        try:
            with self.engine.begin() as conn:
                return (
                    conn.execute(
                        update(SchedulerLock)
                        .where(SchedulerLock.name == self.name, SchedulerLock.holder_id == self.holder_id)
                        .values(heartbeat_at=now)
                    ).rowcount
                    == 1
                )
        except SQLAlchemyError:
            log.exception("scheduler lock heartbeat failed")
            return False

    def release(self) -> None:
        """Give the lock up at once (a standby need not wait for the timeout)."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(SchedulerLock).where(SchedulerLock.name == self.name, SchedulerLock.holder_id == self.holder_id)
            )

    def dispose(self) -> None:
        """Nothing to close: the lock row lives in the shared database."""

    def holder(self) -> str | None:
        """The current holder's id, if any (stale or not)."""
        with self.engine.connect() as conn:
            return conn.scalar(text("SELECT holder_id FROM scheduler_locks WHERE name = :name"), {"name": self.name})


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock, derived from the lock name."""
    return int.from_bytes(hashlib.sha256(f"dg-volunteers:{name}".encode()).digest()[:8], "big", signed=True)


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock held on its own, never pooled, connection."""

    kind = "advisory"

    def __init__(self, url: URL, name: str, holder_id: str) -> None:
        # NullPool: closing the connection really ends the session, which frees the lock.
        self.engine = create_engine(url, poolclass=NullPool)
        self.name = name
        self.holder_id = holder_id
        self.key = advisory_key(name)
        self.connection: Connection | None = None

    def acquire(self, now: datetime) -> bool:
        """Try once, without waiting; keep the connection open when the lock is ours."""
        if self.connection is not None:
            return self.refresh(now)
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}))
            if got:
                connection.execute(
                    text("SELECT set_config('application_name', :name, false)"),
                    {"name": f"scheduler {self.holder_id}"[:63]},
                )
        except SQLAlchemyError:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self.connection = connection
        return True

    def refresh(self, now: datetime) -> bool:
        """True while our session is alive and still holds the lock."""
        if self.connection is None:
            return False
        high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        try:
            held = self.connection.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1)"
                ),
                {"high": high, "low": low},
            )
        except SQLAlchemyError:
            log.exception("scheduler lock connection lost")
            self._close()
            return False
        if not held:
            self._close()
        return bool(held)

    def release(self) -> None:
        """Unlock and close the dedicated connection."""
        if self.connection is None:
            return
        try:
            self.connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except SQLAlchemyError:
            log.warning("could not unlock the scheduler lock; closing its connection frees it")
        self._close()

    def holder(self) -> str | None:
        """The application_name of the session holding the lock in this database, if any."""
        high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        with self.engine.connect() as conn:
            # Advisory locks are per database: another deployment's scheduler on the same server is not ours.
            return conn.scalar(
                text(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :high AND l.objid = :low"
                    " AND l.objsubid = 1"
                    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"high": high, "low": low},
            )

    def _close(self) -> None:
        connection, self.connection = self.connection, None
        assert connection is not None  # callers close only an open connection
        with contextlib.suppress(SQLAlchemyError):
            connection.close()

    def dispose(self) -> None:
        """Close the connection (freeing the lock) and the private engine."""
        if self.connection is not None:
            self._close()
        self.engine.dispose()


def make_lock(app: Flask, *, holder_id: str | None = None, name: str = "scheduler") -> Lock:
    """The right lock for the configured database: advisory on PostgreSQL, a lock row elsewhere."""
    holder_id = holder_id or new_holder_id()
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine.url, name, holder_id)
    timeout = timedelta(seconds=app.config["SCHEDULER_LOCK_TIMEOUT_SECONDS"])
    return RowLock(engine, name, holder_id, timeout)


#: either kind of scheduler lock (make_lock chooses)
Lock = AdvisoryLock | RowLock
