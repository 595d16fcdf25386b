"""SMS: the gateway to the providers (console, Alibaba Cloud, Tencent Cloud) and verification codes (docs/sms.md)."""
