"""Flask extensions, created unbound here and bound by the application factory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import CursorResult, MetaData, Result, Table
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base whose constraints are named by convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FlaskSQLAlchemyModel

    class Model(_FlaskSQLAlchemyModel, Base):
        """What a type checker sees of `db.Model`: a class attribute of an instance cannot be a base class to it."""

        __abstract__ = True
        __table__: ClassVar[Table]  # every model is mapped to a table (DeclarativeBase allows any FROM clause)
else:
    Model = db.Model
    """The base class of every model: Base's body with Flask-SQLAlchemy's mixins (bind key, table name, query)."""

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def rowcount(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE run through the session wrote or matched.

    `Session.execute()` is typed as returning a `Result`; for those statements it is a `CursorResult`, which has
    `rowcount`.
    """
    return cast("CursorResult[Any]", result).rowcount


def client_address() -> str:
    """The client's address (the proxy in front sets X-Forwarded-For via ProxyFix)."""
    return get_remote_address() or request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address)
