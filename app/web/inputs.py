"""Numbers from URLs, query strings and forms, bounded to what the database can hold.

A number past the database's integer range names no row: in a path it answers 404 (`BoundedIntConverter`,
installed as the `int` converter by the factory); in a query string or form `query_int` refuses it, so
`request.args.get("page", 1, type=query_int)` falls back to the default, as for any other value that is not a
number. The range is PostgreSQL's `integer` (2^31 - 1), the type of every id column there (SQLite's integers go
to 2^63 - 1); the API bounds its ids alike (api/schemas.py MAX_ID).
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter

#: the largest integer every integer column holds: PostgreSQL's `integer` (SQLAlchemy's Integer), as ids are there.
#: Larger values reach PostgreSQL cast to the column's type (`%(pk)s::INTEGER`) and fail: a 500.
DB_INT_MAX = 2**31 - 1


def digits_up_to(limit: int) -> str:
    """A regular expression of the decimal numbers 0..`limit` (leading zeros allowed, as `\\d+` allows them)."""
    digits = str(limit)
    parts = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - i - 1
            parts.append(digits[:i] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` that matches only 0..DB_INT_MAX: a larger id matches no route, so every method answers 404.

    The bound is in the pattern, not only in the conversion: werkzeug checks a rule's methods before converting,
    so a value refused in conversion by the DELETE rule of a path would answer 405 because of its GET sibling.
    """

    regex = digits_up_to(DB_INT_MAX)

    def __init__(
        self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=DB_INT_MAX if max is None else max, signed=signed)
        if signed or fixed_digits:  # werkzeug's own patterns (no route here asks for either)
            self.regex = self.signed_regex if signed else r"\d+"


def query_int(value: str) -> int:
    """An integer from a query string or form field within the database's range; ValueError otherwise."""
    number = int(value)
    if not -DB_INT_MAX <= number <= DB_INT_MAX:
        raise ValueError("out of the database's integer range")
    return number


def request_has_nul() -> bool:
    """True when a query-string or form field (name or value), or an uploaded file's name, holds NUL.

    No database stores NUL in text (PostgreSQL refuses it: a DataError, so a 500; SQLite keeps it), and no browser
    sends it from what a person typed. The API refuses it in its JSON bodies itself (api/validation.py).
    """
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    files = [(name, upload.filename or "") for name, upload in request.files.items(multi=True)]
    # a malformed multipart part parses with no name (None)
    return any("\x00" in (name or "") or "\x00" in (value or "") for name, value in fields + files)
