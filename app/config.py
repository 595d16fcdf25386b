"""Configuration classes, read from the environment.

`create_app(config_name, overrides)` picks one of these; tests pass overrides.
"""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = BASE_DIR / "instance"

# Values that must never reach production: development stand-ins only.
INSECURE_SECRET_KEY = "dev-insecure-secret-key-change-me"
INSECURE_ID_KEY = "ZGV2LWluc2VjdXJlLWlkLWtleS0zMi1ieXRlcy0hISE="  # 32 bytes, base64


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Accept the usual postgres:// spellings and pin the psycopg 3 driver.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    return f"sqlite:///{INSTANCE_DIR / 'volunteers.db'}"


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_SECRET_KEY)
    # Base64 of 32 random bytes; encrypts resident ID numbers and keys their lookup hash.
    ID_NUMBER_KEY = os.environ.get("ID_NUMBER_KEY", INSECURE_ID_KEY)

    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    WTF_CSRF_TIME_LIMIT = None  # a form left open on a phone for hours still submits
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh": "中文", "en": "English"}
    LOCAL_TIMEZONE = "Asia/Shanghai"

    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True
    # Failed logins allowed before throttling, per account and per client address.
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes")
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes")

    PASSWORD_MIN_LENGTH = 8
    # argon2id parameters (RFC 9106 "second recommended" profile is the library default).
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_COST = 65536
    GUARDIAN_REQUIRED_UNDER_AGE = 14

    IMPORT_MAX_ROWS = 50_000


class DevelopmentConfig(Config):
    """Local development: SQLite under instance/, insecure keys allowed."""

    ENV_NAME = "development"


class TestingConfig(Config):
    """The test suite: its own database, fast password hashing."""

    ENV_NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite:///:memory:")
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_COST = 1024
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(Config):
    """Production: real keys required, secure cookies, no debug."""

    ENV_NAME = "production"
    DEBUG = False
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def check(cls, config: dict) -> None:
        """Refuse to start without real secrets."""
        problems = []
        secret = config.get("SECRET_KEY") or ""
        if secret == INSECURE_SECRET_KEY or len(secret) < 32:
            problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
        id_key = config.get("ID_NUMBER_KEY") or ""
        if id_key == INSECURE_ID_KEY:
            problems.append("ID_NUMBER_KEY must be set (base64 of 32 random bytes)")
        if problems:
            raise RuntimeError("Refusing to start in production: " + "; ".join(problems))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
