"""One reset link sent many times at once (a double tap, a shared link): the password is reset once."""

from __future__ import annotations

import pytest

from app.security import verify_password
from app.timeutil import utcnow
from tests.parallel import BACKENDS, pool_for, send_together
from volunteers.accounts.models import User
from volunteers.recovery import services

THREADS = 6


@pytest.fixture
def app_overrides():
    return pool_for(THREADS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_uses_of_one_link_reset_the_password_once(backend, people, make_client, db):
    person = people["nancheng_volunteer"]
    _link, secret = services.issue_reset_link(person, by=people["reviewer"], now=utcnow())
    db.session.commit()
    passwords = [f"Parallel-pass-{n}x" for n in range(THREADS)]

    def use(password):
        client = make_client()
        return lambda: client.post(
            f"/reset/{secret}", data={"new_password": password, "new_password_confirm": password}
        )

    answers = send_together([use(password) for password in passwords])
    assert not [a for a in answers if isinstance(a, Exception)], answers
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [302] + [410] * (THREADS - 1)
    winner = passwords[[a.status_code for a in answers].index(302)]
    db.session.expire_all()
    stored = db.session.get(User, person.id)
    losers = [p for p in passwords if p != winner]
    assert verify_password(stored.password_hash, winner)
    assert not any(verify_password(stored.password_hash, p) for p in losers)
