"""The SMS backends: `console` (development and tests), `aliyun` (Alibaba Cloud SMS), `tencent` (Tencent Cloud SMS)."""
