"""Alibaba Cloud SMS (dysmsapi 2017-05-25) through its official SDK, alibabacloud-dysmsapi20170525.

The SDK's own retries are off (`autoretry=False`): the gateway retries transient failures itself, so every
attempt is counted. The endpoint is SMS_ALIYUN_ENDPOINT (default dysmsapi.aliyuncs.com, https); an
"http://host:port" endpoint is spoken to in plain http (the tests' fake provider).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_util import models as util_models
from Tea.exceptions import TeaException, UnretryableException

from sms.backends.base import Failure, SendResult, SmsTemplate, http_endpoint

#: the provider's limits for a number, a template or the account
THROTTLED = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isv.MINUTE_LIMIT_CONTROL",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
    }
)
REJECTED_NUMBER = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.BLACK_KEY_CONTROL_LIMIT"})
TRANSIENT = frozenset({"isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "ServiceUnavailable", "InternalError"})


def failure_of(code: str) -> Failure:
    """What an Alibaba Cloud error code means for the user."""
    if code in THROTTLED:
        return Failure.THROTTLED
    if code in REJECTED_NUMBER:
        return Failure.REJECTED_NUMBER
    if code in TRANSIENT:
        return Failure.UNAVAILABLE
    return Failure.ERROR


@dataclass(frozen=True)
class AliyunBackend:
    """Alibaba Cloud SMS: SendSms with the sign name, the purpose's template code and its variables as JSON."""

    access_key_id: str
    access_key_secret: str
    region: str
    endpoint: str
    timeout_seconds: float
    name: str = "aliyun"
    keeps_text: bool = False

    def _client(self) -> Client:
        protocol, host = http_endpoint(self.endpoint)
        milliseconds = int(self.timeout_seconds * 1000)
        return Client(
            open_api_models.Config(
                access_key_id=self.access_key_id,
                access_key_secret=self.access_key_secret,
                region_id=self.region,
                endpoint=host,
                protocol=protocol,
                read_timeout=milliseconds,
                connect_timeout=milliseconds,
            )
        )

    def send(self, mobile: str, template: SmsTemplate, params: Mapping[str, str]) -> SendResult:
        """One SendSms request; every outcome is a SendResult."""
        milliseconds = int(self.timeout_seconds * 1000)
        request = sms_models.SendSmsRequest(
            phone_numbers=mobile,
            sign_name=template.sign_name,
            template_code=template.template_id,
            template_param=json.dumps(dict(params), ensure_ascii=False),
        )
        runtime = util_models.RuntimeOptions(autoretry=False, read_timeout=milliseconds, connect_timeout=milliseconds)
        try:
            response = self._client().send_sms_with_options(request, runtime)
        except UnretryableException as problem:  # no answer: a timeout or a refused connection
            text = str(problem)
            code = "timeout" if "timed out" in text.lower() else "connection"
            return SendResult.failed(Failure.UNAVAILABLE, code, text[:500])
        except TeaException as problem:  # the provider answered with an HTTP error
            status = getattr(problem, "statusCode", None)
            code = str(problem.code or f"http_{status}")
            failure = Failure.UNAVAILABLE if isinstance(status, int) and status >= 500 else failure_of(code)
            return SendResult.failed(failure, code, str(problem.message or "")[:500])
        except Exception as problem:  # noqa: BLE001 - any other SDK failure is a failed send, never a 500
            return SendResult.failed(Failure.UNAVAILABLE, type(problem).__name__, str(problem)[:500])
        body = response.body
        code = (body.code if body else None) or "no_body"
        if code == "OK":
            return SendResult.success(body.biz_id if body else None)
        return SendResult.failed(failure_of(code), code, (body.message if body else "") or "")
