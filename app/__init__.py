"""The application factory: config, extensions, the kernel's hooks, then the product areas it is given.

The kernel imports no product area: composition.py lists the areas and calls `create_app` with them.
"""

from __future__ import annotations

import os
import select
from collections.abc import Sequence
from pathlib import Path

from flask import Flask, Request, has_request_context, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool
from werkzeug.middleware.proxy_fix import ProxyFix

from app.areas import Area, register_areas
from app.config import CONFIGS, INSTANCE_DIR, ProductionConfig
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.web.inputs import BoundedIntConverter

BASE_DIR = Path(__file__).resolve().parent.parent


@event.listens_for(Pool, "checkout")
def _closed_by_the_server(dbapi_connection, connection_record, connection_proxy):
    """PostgreSQL: a pooled connection the server has closed meanwhile (a failover, pg_terminate_backend, a
    restart) is replaced before use, without a round trip (no pool_pre_ping): an idle connection has nothing
    to read, so a readable socket means the server's goodbye (its error message, or the end of the stream).
    Raising DisconnectionError makes the pool connect afresh for this checkout."""
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError) as problem:  # the socket is gone already
        raise DisconnectionError(str(problem)) from problem
    if readable:
        raise DisconnectionError("the server closed this pooled connection")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: WAL journal, foreign keys enforced, wait instead of failing when locked."""
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def bearer_call(req: Request) -> bool:
    """A call with an API token (Authorization: Bearer ...): it has no session (api.auth reads the token)."""
    return req.headers.get("Authorization", "")[:7].lower() == "bearer "


def select_locale() -> str:
    """?lang= switches and remembers; otherwise the session's choice; Chinese by default. A call with an API
    token (Authorization: Bearer) has no session: ?lang= or its Accept-Language answers that call only."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # jobs, CLI and services called outside a request
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang") if request.query_string else None
    if bearer_call(request):  # a token's API call has no session: ?lang=, else Accept-Language
        if chosen is not None and chosen in languages:
            return chosen
        return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    if chosen is not None and chosen in languages:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def dispose_engines(app: Flask) -> None:
    """Close the app's pools (tests, and apps built for one job)."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the work for a request that has no session and makes none
    (a scanner's or a kiosk's poll): no signer is built to read an absent cookie, and nothing is computed to
    write none. A call with an API token (Authorization: Bearer) has no session at all: a cookie it carries is
    not read (the token says who calls, select_locale does without), and its answer does not vary by cookie.
    Otherwise Vary: Cookie is added when the session was read."""

    def open_session(self, app, request):
        if app.secret_key and (
            bearer_call(request)
            or not request.environ.get("HTTP_COOKIE")
            or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if not session and not session.modified:
            if session.accessed and not bearer_call(request):
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def create_app(config_name: str | None = None, overrides: dict | None = None, *, areas: Sequence[Area] = ()) -> Flask:
    """Build the application: config, extensions, error pages, the kernel's CLI, then each area (app/areas.py)."""
    config_name = config_name or os.environ.get("APP_ENV", "development")
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        static_folder=str(BASE_DIR / "static"),
        template_folder=str(BASE_DIR / "templates"),
    )
    app.config.from_object(CONFIGS[config_name])
    if overrides:
        app.config.update(overrides)
    if config_name == "production":
        ProductionConfig.check(app.config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    if app.config.get("TRUSTED_PROXIES", int(os.environ.get("TRUSTED_PROXIES", "0"))):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]  # Flask's documented way to wrap its WSGI app
    app.session_interface = CookieSessions()
    app.url_map.converters["int"] = BoundedIntConverter  # ids past the database's range are 404, not 500

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(BASE_DIR / "translations"))
    limiter.init_app(app)

    _register_login(app)
    register_areas(app, areas)
    from app.web.pages import register_web

    register_web(app)
    from app.ops.logging import init_logging
    from app.ops.observability import init_observability

    init_logging(app)
    init_observability(app)
    from app.cli import register_cli

    register_cli(app)

    @app.get("/healthz")
    @limiter.exempt
    def healthz():
        """Liveness and whether the database answers."""
        try:
            db.session.execute(text("SELECT 1"))
            database = "ok"
        except Exception:  # noqa: BLE001 - the point is to report any failure
            db.session.rollback()
            database = "unavailable"
        status = 200
        return jsonify(status="ok", database=database), status

    return app


def _register_login(app: Flask) -> None:
    """Flask-Login's settings and the templates' `has_role`; the accounts area loads the user."""
    from flask_babel import get_locale
    from flask_babel import lazy_gettext as _l

    from app import permissions

    login_manager.login_view = "volunteers.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @app.context_processor
    def inject_user_roles():
        def has_role(*roles):
            return permissions.has_any_role(current_user, set(roles) or None)

        return {"has_role": has_role, "get_locale": get_locale}
