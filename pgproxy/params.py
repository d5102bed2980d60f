"""Client parameters as translated SQL binds them: arrays as JSON, intervals as text, types.

Backends without arrays hold an array as a JSON array (DESIGN.md, "Arrays"), so a
list a client sends is bound as that JSON text. `pg_typeof($n)` and `$n::regtype`
are answered by the proxy, which alone knows each parameter's declared type: the
dialect layer asks for them with the keys `typeof:<i>` and `regtype:<i>`, and for a field of
a composite parameter, `($n).f`, with `field:<i>:<f>`. An interval is
PostgreSQL's output text for it, the same for a parameter and a constant (`interval:<text>`).
"""

from __future__ import annotations

import datetime
import json
import math
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from dialects.typeoids import name_oid
from pgproxy import errors, pgtypes
from pgproxy.types import CODECS, ranges, records
from pgproxy.types.arrays import ELEMENT_OID
from pgproxy.types.datetimes import timetz_text
from pgproxy.types.intervals import interval_str, parse_interval, to_interval

_TYPE_KEYS = ("typeof:", "typeof_array:", "regtype:", "interval:", "interval_part:", "range:",
              "rangeof:", "as_param:", "field:")
_PARTS = {"months": 0, "days": 1, "usec": 2}


def is_derived(key: str) -> bool:
    """A Generated.params key this module binds (not a session value)."""
    return key.startswith(_TYPE_KEYS)


def timelike(literals: Sequence[Any]) -> bool:
    """Whether a literal lifted from a statement's text could be a timestamp (a string
    starting with a digit): the pipeline reads such literals by the columns they meet."""
    for value in literals:
        if value.__class__ is str and value[:1].isdigit():
            return True
    return False


def derived(key: str, params: Sequence[Any], param_types: Sequence[int]) -> Any:
    """The value of a `typeof:<i>` / `regtype:<i>` key (a type OID, regtype's internal form)
    or of an `interval:<text>` key (the interval's canonical text)."""
    kind, _, index = key.partition(":")
    if kind == "interval":
        return interval_str(*parse_interval(index))  # a constant, in canonical output form
    if kind == "range":  # range:<oid>:<text>, a constant
        oid, _, text = index.partition(":")
        return backend_value(ranges.constant(int(oid), text))  # an array of them as JSON
    if kind == "rangeof":  # rangeof:<oid>:<arguments>, a constructor
        oid, _, args = index.partition(":")
        return ranges.construct(int(oid), json.loads(args), params)
    if kind == "as_param":  # as_param:<i>:<text>, a literal of parameter i's type
        i, _, text = index.partition(":")
        return _as_param_type(text, param_types[int(i)] if int(i) < len(param_types) else 0)
    if kind == "interval_part":  # interval_part:<months|days|usec>:<i or =text>, for DATE_ADD
        field, _, source = index.partition(":")
        if source.startswith("="):
            value: Any = source[1:]
        else:
            value = params[int(source)] if int(source) < len(params) else None
        return None if value is None else to_interval(value)[_PARTS[field]]
    if kind == "field":  # field:<i>:<name>, ($n).name of a composite parameter
        number, _, name = index.partition(":")
        i = int(number)
        value = params[i] if i < len(params) else None
        oid = param_types[i] if i < len(param_types) else 0
        return None if value is None else backend_value(records.field_value(oid, value, name))
    i = int(index)
    if kind == "typeof":
        return param_types[i] if i < len(param_types) else 25
    if kind == "typeof_array":
        info = pgtypes.TYPES.get(param_types[i] if i < len(param_types) else 25)
        return info.array_oid if info is not None and info.array_oid else pgtypes.TEXT_ARRAY
    value = params[i] if i < len(params) else None
    if value is None:
        return None
    if isinstance(value, int):
        return value
    oid = name_oid(str(value))
    if not oid:
        raise errors.UndefinedObject(f'type "{value}" does not exist')
    return oid


def _as_param_type(text: str, oid: int) -> Any:
    """A literal compared with a parameter, as the backend holds the parameter's type: the
    types the proxy gives a backend form of its own (arrays, ranges, intervals) are read by
    their codec; any other stays the text the backend reads itself."""
    if oid in ELEMENT_OID or oid in ranges.BY_OID or oid in ranges.BY_MULTI_OID or (
        oid == pgtypes.INTERVAL
    ):
        return backend_value(CODECS[oid].text_decode(text.encode()))
    return text


# Classes a backend binds as they are (backend_value passes them through unchanged).
PLAIN = frozenset({int, str, bytes, bool, type(None), datetime.date, datetime.datetime})


def backend_value(value: Any) -> Any:
    """A decoded client value as a backend without arrays or NaN binds it."""
    if value.__class__ in PLAIN:
        return value  # the common case, one set lookup on the hot path
    if isinstance(value, list):
        return json.dumps(
            value, default=_json_default, ensure_ascii=False, separators=(",", ":")
        )
    if isinstance(value, float) and not math.isfinite(value):
        # SQLite binds NaN as NULL and MySQL has no spelling for it; as text the
        # value survives to the result, where the float8 encoder reads it back.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, datetime.timedelta):
        return interval_str(*to_interval(value))  # the form interval constants are bound in
    if isinstance(value, datetime.time) and value.tzinfo is not None:
        # a timetz: drivers drop a time's offset; the text timetz constants are bound as
        return timetz_text(value).decode()
    if isinstance(value, Decimal) and not value.is_finite():
        return str(value)  # 'NaN', 'Infinity', '-Infinity': numeric's own spelling
    return value


def _json_default(value: Any) -> Any:
    """Array elements JSON has no type for, in the text their PostgreSQL type reads back."""
    if isinstance(value, Decimal):
        return str(value)  # a JSON string keeps the scale ('1.10') a JSON number would lose
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, datetime.datetime):
        return value.isoformat(" ")
    if isinstance(value, datetime.date | datetime.time | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.timedelta):
        return interval_str(*to_interval(value))
    raise TypeError(f"cannot bind a {type(value).__name__} in an array")

