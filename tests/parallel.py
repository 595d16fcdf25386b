"""Truly parallel requests for the concurrency tests: threads released together by a threading.Barrier.

- ``BACKENDS``: ``@pytest.mark.parametrize("backend", BACKENDS)`` runs a scenario on the database the suite
  runs on: the "postgresql" variant (marked ``postgres``) when TEST_DATABASE_URL points at PostgreSQL, where
  row locks and READ COMMITTED make the race real; the "sqlite" variant otherwise, where the writers queue on
  the file's lock (busy_timeout makes them wait).
- ``pool_for(threads)``: ``app_overrides`` giving every thread its own connection (truly parallel
  transactions, not a few queued on the default pool).
- ``run_together(app, jobs, refusals=...)``: service calls, each in its own thread, app context and session.
- ``send_together(requests)``: HTTP requests, each in its own thread with its own client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pytest

from app.extensions import db
from tests.support import is_postgres

BACKENDS = [
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not is_postgres(), reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://..."
            ),
        ],
    ),
    pytest.param(
        "sqlite", marks=pytest.mark.skipif(is_postgres(), reason="SQLite variant: runs when the suite runs on SQLite")
    ),
]


def pool_for(threads: int) -> dict:
    """App configuration with one pooled connection per thread (and a few to spare for the test itself)."""
    return {
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_size": threads + 5,
            "max_overflow": 0,
            "pool_timeout": 120,
            "pool_pre_ping": True,
        }
    }


def start_together(workers: Sequence[Callable], *, barrier_timeout: float = 120, join_timeout: float = 300) -> list:
    """Run each worker(wait) in its own thread; each calls wait() when ready, and all go on at once.

    Returns what each worker returned, or the exception it raised, in order; fails the test if one hangs.
    """
    barrier = threading.Barrier(len(workers))
    results: list = [None] * len(workers)

    def run(index: int, worker: Callable) -> None:
        try:
            results[index] = worker(lambda: barrier.wait(timeout=barrier_timeout))
        except Exception as error:  # noqa: BLE001 - returned to the test
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, worker)) for i, worker in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results


def send_together(requests: Sequence[Callable], *, barrier_timeout: float = 60) -> list:
    """Call each request() (an HTTP call on its own client) in its own thread, all at once.

    Returns each answer, or the exception raised, in order.
    """

    def worker(request: Callable) -> Callable:
        def send(wait):
            wait()
            return request()

        return send

    return start_together([worker(request) for request in requests], barrier_timeout=barrier_timeout)


def run_together(
    app, jobs: Sequence, *, refusals: tuple[type[Exception], ...] = (), commit_refusals: bool = False
) -> list:
    """Run each job in its own thread, app context and session; all acts start at once.

    A job is act() or a pair (prepare, act): prepare() loads what the job needs (by id, in the thread's own
    session) before the start, act(*prepared) calls the service. The thread commits on success; on one of
    `refusals` it commits (`commit_refusals`, when a refusal is itself recorded) or rolls back, and on any
    other exception it rolls back. Returns each job's result or exception, in order; fails the test on an
    exception that is not one of `refusals`.
    """

    def worker(job) -> Callable:
        prepare, act = job if isinstance(job, tuple) else ((lambda: ()), job)

        def call(wait):
            with app.app_context():
                try:
                    prepared = prepare()
                    wait()
                    result = act(*prepared)
                    db.session.commit()
                    return result
                except refusals as refused:
                    if commit_refusals:
                        db.session.commit()
                    else:
                        db.session.rollback()
                    return refused
                except Exception:
                    db.session.rollback()
                    raise
                finally:
                    db.session.remove()

        return call

    results = start_together([worker(job) for job in jobs])
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, refusals)]
    assert not unexpected, unexpected
    return results
