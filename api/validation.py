"""Input validation against the very schemas the OpenAPI document publishes.

The schemas are plain OpenAPI 3.0 schema objects (api/schemas.py). One small
validator reads them, so what the document promises is what the server checks:
types, required and unknown fields, bounds, lengths, enums and RFC 3339 times.
Strings that no database could store (NUL, lone surrogates) and integers beyond
a 32-bit column are refused here, before any service sees them.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone

from flask import request
from flask_babel import gettext as _

from app.errors import DomainError

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
#: times outside these years are refused: nothing here happens then, and local-time arithmetic stays in range
MIN_YEAR, MAX_YEAR = 1970, 2199

DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$",
    re.ASCII,
)


class InvalidInput(DomainError):
    """Well-formed JSON or query that breaks the documented schema."""

    status = 422
    code = "validation_failed"


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


def parse_date_time(text: str) -> datetime | None:
    """An aware UTC datetime from an RFC 3339 string with an offset, or None."""
    match = DATE_TIME.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, offset = match.group(7) or "", match.group(8)
    leap = second == 60  # RFC 3339 allows a leap second; count it as the next second
    try:
        if offset in ("Z", "z"):
            tz = UTC
        else:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                return None
            sign = -1 if offset[0] == "-" else 1
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        value = datetime(
            year,
            month,
            day,
            hour,
            minute,
            59 if leap else second,
            int(fraction[:6].ljust(6, "0")) if fraction else 0,
            tzinfo=tz,
        )
        if leap:
            value += timedelta(seconds=1)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


class Validator:
    """Checks values against schema objects, resolving `#/components/schemas/...` references."""

    def __init__(self, components: dict, *, strict_output: bool = False, convert: bool = True):
        self.components = components
        #: responses (tests): every property must be documented, even without additionalProperties
        self.strict_output = strict_output
        #: requests: date-time strings become datetimes
        self.convert = convert

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        if "allOf" in schema:
            merged: dict = {"type": "object", "properties": {}, "required": []}
            for part in schema["allOf"]:
                part = self.resolve(part)
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
                if part.get("additionalProperties") is False:
                    merged["additionalProperties"] = False
            return merged
        return schema

    def check(self, schema: dict, value: object, path: str = "") -> tuple[object, dict[str, str]]:
        """The cleaned value and {field path: message} for every problem found."""
        errors: dict[str, str] = {}
        cleaned = self._check(schema, value, path, errors)
        return cleaned, errors

    def _check(self, schema: dict, value: object, path: str, errors: dict[str, str]) -> object:
        schema = self.resolve(schema)
        if value is None:
            if not schema.get("nullable"):
                errors[path or "body"] = _("This field may not be null.")
            return None
        kind = schema.get("type")
        handler = getattr(self, f"_check_{kind}", None)
        if handler is None:
            return value
        value = handler(schema, value, path, errors)
        if "enum" in schema and value is not None and value not in schema["enum"] and (path or "body") not in errors:
            errors[path or "body"] = _(
                "Choose one of: %(choices)s.", choices=", ".join(str(choice) for choice in schema["enum"])
            )
        return value

    def _check_object(self, schema: dict, value: object, path: str, errors: dict[str, str]) -> dict | None:
        if not isinstance(value, dict):
            errors[path or "body"] = _("Expected a JSON object.")
            return None
        properties = schema.get("properties", {})
        closed = schema.get("additionalProperties") is False or (
            self.strict_output and "additionalProperties" not in schema
        )
        cleaned = {}
        for name in schema.get("required", []):
            if name not in value:
                errors[_join(path, name)] = _("This field is required.")
        for name, item in value.items():
            if name in properties:
                cleaned[name] = self._check(properties[name], item, _join(path, name), errors)
            elif closed:
                errors[_join(path, name)] = _("Unknown field.")
        return cleaned

    def _check_array(self, schema: dict, value: object, path: str, errors: dict[str, str]) -> list | None:
        if not isinstance(value, list):
            errors[path or "body"] = _("Expected a list.")
            return None
        if len(value) > schema.get("maxItems", 1000):
            errors[path or "body"] = _("At most %(count)s items.", count=schema.get("maxItems", 1000))
            return None
        if len(value) < schema.get("minItems", 0):
            errors[path or "body"] = _("At least %(count)s items.", count=schema["minItems"])
            return None
        cleaned = [self._check(schema.get("items", {}), item, f"{path}[{i}]", errors) for i, item in enumerate(value)]
        if schema.get("uniqueItems") and len({json.dumps(item, sort_keys=True, default=str) for item in value}) != len(
            value
        ):
            errors[path or "body"] = _("Each item may appear only once.")
        return cleaned

    def _check_string(self, schema: dict, value: object, path: str, errors: dict[str, str]) -> str | datetime | None:
        if not isinstance(value, str):
            errors[path or "body"] = _("Expected a string.")
            return None
        if "\x00" in value or not _encodable(value):
            errors[path or "body"] = _("The text contains characters that cannot be stored.")
            return None
        if len(value) > schema.get("maxLength", 10_000):
            errors[path or "body"] = _("At most %(count)s characters.", count=schema.get("maxLength", 10_000))
            return None
        if len(value) < schema.get("minLength", 0):
            errors[path or "body"] = (
                _("This field is required.")
                if schema["minLength"] == 1
                else _("At least %(count)s characters.", count=schema["minLength"])
            )
            return None
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors[path or "body"] = _("The format is not valid.")
            return None
        if schema.get("format") == "date-time":
            parsed = parse_date_time(value)
            if parsed is None:
                errors[path or "body"] = _(
                    "Give a date and time in ISO 8601 with a UTC offset, e.g. 2026-05-01T09:00:00+08:00."
                )
                return None
            if not MIN_YEAR <= parsed.year <= MAX_YEAR:
                errors[path or "body"] = _(
                    "Give a time between the years %(first)s and %(last)s.", first=MIN_YEAR, last=MAX_YEAR
                )
                return None
            return parsed if self.convert else value
        return value

    def _check_integer(self, schema: dict, value: object, path: str, errors: dict[str, str]) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int):
            errors[path or "body"] = _("Expected a whole number.")
            return None
        return self._bounds(schema, value, path, errors, INT32_MIN, INT32_MAX)

    def _check_number(self, schema: dict, value: object, path: str, errors: dict[str, str]) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            errors[path or "body"] = _("Expected a number.")
            return None
        return self._bounds(schema, value, path, errors, -1e15, 1e15)

    def _check_boolean(self, schema: dict, value: object, path: str, errors: dict[str, str]) -> bool | None:
        if not isinstance(value, bool):
            errors[path or "body"] = _("Expected true or false.")
            return None
        return value

    @staticmethod
    def _bounds(schema: dict, value: float, path: str, errors: dict[str, str], low: float, high: float) -> float | None:
        minimum, maximum = schema.get("minimum", low), schema.get("maximum", high)
        if value < minimum:
            errors[path or "body"] = _("Must be at least %(minimum)s.", minimum=minimum)
            return None
        if value > maximum:
            errors[path or "body"] = _("Must be at most %(maximum)s.", maximum=maximum)
            return None
        return value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def raise_for(errors: dict[str, str]) -> None:
    """One 422 naming the first problem, with every problem in `details`."""
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidInput(f"{field}: {message}", field=field, details={"fields": errors})


def coerce_query_value(schema: dict, raw: str) -> int | bool | str:
    """A query-string value turned into the schema's type (or left a string for the validator to refuse)."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"[+-]?[0-9]{1,12}", raw.strip()):
        return int(raw)
    if kind == "boolean" and raw.lower() in ("true", "false", "1", "0"):
        return raw.lower() in ("true", "1")
    if kind == "string" and schema.get("format") == "date-time":
        # An unencoded "+" in "+08:00" arrives as a space.
        return re.sub(r" ([0-9]{2}:[0-9]{2})$", r"+\1", raw.strip())
    return raw


def read_query(validator: Validator, parameters: list[dict]) -> dict:
    """Validated query parameters by name (absent ones take their documented default, or None)."""
    values, errors = {}, {}
    for parameter in parameters:
        name, schema = parameter["name"], validator.resolve(parameter["schema"])
        raw = request.args.get(name)
        if raw is None:
            values[name] = schema.get("default")
            continue
        value, problems = validator.check(schema, coerce_query_value(schema, raw), name)
        errors.update(problems)
        values[name] = value
    raise_for(errors)
    return values


def read_json_body(validator: Validator, schema: dict, *, required: bool) -> dict:
    """The request's JSON body, validated; an empty optional body reads as {}."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise InvalidInput(_("A JSON body is required."), code="body_required")
        return {}
    if not request.is_json:
        raise UnsupportedMediaType(_("Send the body as JSON with Content-Type: application/json."))
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedJson(_("The body is not valid JSON.")) from None
    value, errors = validator.check(schema, payload)
    raise_for(errors)
    assert isinstance(value, dict)  # a body's schema is an object's: anything else was refused just above
    return value


__all__ = [
    "InvalidInput",
    "MalformedJson",
    "UnsupportedMediaType",
    "Validator",
    "parse_date_time",
    "raise_for",
    "read_json_body",
    "read_query",
]
