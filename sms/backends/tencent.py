"""Tencent Cloud SMS (2021-01-11) through its official SDK, tencentcloud-sdk-python-sms.

The endpoint is SMS_TENCENT_ENDPOINT (default sms.tencentcloudapi.com, https); an "http://host:port" endpoint is
spoken to in plain http (`HttpProfile(protocol="http")`, the tests' fake provider). The SDK retries nothing (no
retryer): the gateway retries transient failures itself. A number's own failure comes back in SendStatusSet with
HTTP 200 (e.g. LimitExceeded.PhoneNumberDailyLimit), a request's in Response.Error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from sms.backends.base import Failure, SendResult, SmsTemplate, http_endpoint

REJECTED_NUMBER = frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.PhoneNumberParseFail",
        "FailedOperation.PhoneNumberOnBlacklist",
    }
)
TRANSIENT_PREFIXES = ("InternalError", "ClientNetworkError", "ServerNetworkError")
THROTTLED_PREFIXES = ("LimitExceeded", "RequestLimitExceeded")


def failure_of(code: str) -> Failure:
    """What a Tencent Cloud error code means for the user."""
    if code.startswith(THROTTLED_PREFIXES):
        return Failure.THROTTLED
    if code in REJECTED_NUMBER:
        return Failure.REJECTED_NUMBER
    if code.startswith(TRANSIENT_PREFIXES):
        return Failure.UNAVAILABLE
    return Failure.ERROR


@dataclass(frozen=True)
class TencentBackend:
    """Tencent Cloud SMS: SendSms to "+86…" with the SDK app id, the sign name, the template id and its
    parameters in order."""

    secret_id: str
    secret_key: str
    sdk_app_id: str
    region: str
    endpoint: str
    timeout_seconds: float
    name: str = "tencent"
    keeps_text: bool = False

    def _client(self) -> sms_client.SmsClient:
        protocol, host = http_endpoint(self.endpoint)
        profile = ClientProfile(
            httpProfile=HttpProfile(protocol=protocol, endpoint=host, reqTimeout=self.timeout_seconds)
        )
        return sms_client.SmsClient(credential.Credential(self.secret_id, self.secret_key), self.region, profile)

    def send(self, mobile: str, template: SmsTemplate, params: Mapping[str, str]) -> SendResult:
        """One SendSms request; every outcome is a SendResult."""
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{mobile}"]
        request.SmsSdkAppId = self.sdk_app_id
        request.SignName = template.sign_name
        request.TemplateId = template.template_id
        request.TemplateParamSet = [str(value) for value in params.values()]
        try:
            response = self._client().SendSms(request)
        except TencentCloudSDKException as problem:
            code = problem.get_code() or "unknown"
            text = problem.get_message() or ""
            if code == "ClientNetworkError":
                code = "timeout" if "timed out" in str(text).lower() else "connection"
            elif code == "ServerNetworkError":
                code = "http_error"
            return SendResult.failed(failure_of(problem.get_code() or ""), code, str(text)[:500])
        except Exception as problem:  # noqa: BLE001 - any other SDK failure is a failed send, never a 500
            return SendResult.failed(Failure.UNAVAILABLE, type(problem).__name__, str(problem)[:500])
        statuses = response.SendStatusSet or []
        if not statuses:
            return SendResult.failed(Failure.ERROR, "no_status", "SendStatusSet is empty")
        status = statuses[0]
        code = status.Code or "unknown"
        if code == "Ok":
            return SendResult.success(status.SerialNo)
        return SendResult.failed(failure_of(code), code, status.Message or "")
