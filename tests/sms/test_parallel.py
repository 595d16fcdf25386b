"""Requests at once for one number: one code goes out, the others wait their 60 s; one right code is used once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from sms.codes import CodeStatus, check_code, send_code
from sms.errors import DailyLimitReached, TooSoon
from sms.models import SmsMessage, VerificationCode
from sms.purposes import SmsPurpose
from tests.parallel import BACKENDS, pool_for, run_together
from tests.sms.conftest import MOBILE, code_in

THREADS = 6


@pytest.fixture
def app_overrides():
    return pool_for(THREADS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_sends_to_one_number_send_one_code(app, backend, morning):
    def job(i):
        return lambda: send_code(MOBILE, SmsPurpose.REGISTER, ip_address=f"198.51.100.{i}", now=morning)

    results = run_together(app, [job(i) for i in range(THREADS)], refusals=(TooSoon,))
    refused = [r for r in results if isinstance(r, TooSoon)]
    assert len(refused) == THREADS - 1
    assert {r.seconds_left for r in refused} == {60}
    db.session.remove()
    assert db.session.scalar(select(func.count(SmsMessage.id))) == 1
    assert db.session.scalar(select(func.count(VerificationCode.id))) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_sends_from_one_address_keep_its_daily_limit(app, backend, morning):
    app.config["SMS_DAILY_LIMIT_PER_ADDRESS"] = 3

    def job(i):
        return lambda: send_code(f"1370000{i:04d}", SmsPurpose.REGISTER, ip_address="203.0.113.50", now=morning)

    results = run_together(app, [job(i) for i in range(THREADS)], refusals=(DailyLimitReached,))
    assert sum(isinstance(r, DailyLimitReached) for r in results) == THREADS - 3
    db.session.remove()
    assert db.session.scalar(select(func.count(VerificationCode.id))) == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_right_code_given_twice_at_once_is_used_once(app, backend, morning):
    send_code(MOBILE, SmsPurpose.REGISTER, ip_address=None, now=morning)
    db.session.commit()
    code = code_in(db.session.scalars(select(SmsMessage.text)).one())
    db.session.remove()

    results = run_together(app, [lambda: check_code(MOBILE, SmsPurpose.REGISTER, code, now=morning)] * THREADS)
    assert sorted(r.status.value for r in results) == ["none"] * (THREADS - 1) + ["ok"]
    assert CodeStatus.OK in {r.status for r in results}
