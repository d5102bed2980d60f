"""PostgreSQL's json/jsonb operators on backends without them.

`j ?| ARRAY[…]` / `j ?& ARRAY[…]` become an OR / AND of `j ? k`, and `j #> '{a,0}'` /
`j #>> …` the `->` / `->>` of the path they name, for every backend; then MariaDB spells
`->`, `->>`, `@>`, `<@` and `?` with JSON_EXTRACT, JSON_CONTAINS and JSON_CONTAINS_PATH
(arrays are JSON arrays there too, dialects/arrays.py, so `@>` serves both), and SQLite
calls the pg_json_* functions pgproxy registers (pgproxy/backends/sqlite_functions.py).
"""

from __future__ import annotations

import json
import typing as t

from sqlglot import exp

from dialects.api import TranslationError

_CONTAINS = (exp.ArrayContainsAll, exp.JSONBContains)


def _path_elements(node: exp.Expr) -> list[str]:
    """The elements of a `#>` path: a text-array literal '{a,0}' or ARRAY['a','0']."""
    if isinstance(node, exp.Literal) and node.is_string:
        text = node.this.strip()
        if not (text.startswith("{") and text.endswith("}")):
            raise TranslationError(f'malformed array literal: "{node.this}"', "22P02")
        inner = text[1:-1].strip()
        return [e.strip().strip('"') for e in inner.split(",")] if inner else []
    if isinstance(node, exp.Array) and all(
        isinstance(e, exp.Literal) and e.is_string for e in node.expressions
    ):
        return [e.this for e in node.expressions]
    raise TranslationError("#> and #>> take a literal path on this backend", "0A000")


def _json_path(elements: list[str]) -> exp.JSONPath:
    parts: list[exp.Expr] = [exp.JSONPathRoot()]
    for element in elements:
        if element.lstrip("-").isdigit():
            parts.append(exp.JSONPathSubscript(this=int(element)))
        else:
            parts.append(exp.JSONPathKey(this=element))
    return exp.JSONPath(expressions=parts)


def json_operators(expression: exp.Expr) -> exp.Expr:
    """?| / ?& -> OR / AND of ?; #> / #>> -> -> / ->> of the path (see the module doc)."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, (exp.JSONBContainsAnyTopKeys, exp.JSONBContainsAllTopKeys)):
            keys = node.expression
            if not isinstance(keys, exp.Array) or not keys.expressions:
                raise TranslationError(
                    "?| and ?& take an ARRAY[…] of keys on this backend", "0A000"
                )
            tests = [
                exp.JSONBContainsTopKey(this=node.this.copy(), expression=k.copy())
                for k in keys.expressions
            ]
            join = exp.or_ if isinstance(node, exp.JSONBContainsAnyTopKeys) else exp.and_
            return exp.paren(join(*tests, copy=False), copy=False)
        if isinstance(node, (exp.JSONBExtract, exp.JSONBExtractScalar)):
            path = _json_path(_path_elements(node.expression))
            cls = exp.JSONExtract if isinstance(node, exp.JSONBExtract) else exp.JSONExtractScalar
            return cls(this=node.this, expression=path, only_json_types=True)
        return node

    return expression.transform(rewrite, copy=False)


def _mysql_step(part: exp.Expr) -> tuple[str, bool]:
    """One JSONPath step as MariaDB path text, and whether it is an array subscript."""
    if isinstance(part, exp.JSONPathSubscript):
        index = int(part.this)
        return (f"$[{index}]" if index >= 0 else f"$[last-{-index - 1}]"), True
    if isinstance(part, exp.JSONPathKey):
        return "$." + json.dumps(str(part.this)), False
    raise TranslationError("this JSON path is not supported on MariaDB", "0A000")


def mysql_extract_sql(self: t.Any, expression: exp.JSONExtract) -> str:
    """->: one JSON_EXTRACT per step; a subscript only of an array (MariaDB would read a
    scalar or object as the one element of an array, PostgreSQL answers NULL)."""
    found = self.sql(expression, "this")
    path = expression.expression
    if not isinstance(path, exp.JSONPath):  # a parameter: a key, or an index if an integer
        v = self.sql(path)
        return (
            f"IF({v} REGEXP '^-?[0-9]+$', IF(JSON_TYPE({found}) = 'ARRAY',"
            f" JSON_EXTRACT({found}, CONCAT('$[', {v}, ']')), NULL),"
            f" JSON_EXTRACT({found}, CONCAT('$.', JSON_QUOTE({v}))))"
        )
    for part in path.expressions[1:]:
        step, subscript = _mysql_step(part)
        extract = f"JSON_EXTRACT({found}, {self.sql(exp.Literal.string(step))})"
        found = f"IF(JSON_TYPE({found}) = 'ARRAY', {extract}, NULL)" if subscript else extract
    return found


def mysql_extract_scalar_sql(self: t.Any, expression: exp.JSONExtractScalar) -> str:
    """->>: the value as text, and SQL NULL for a JSON null (as PostgreSQL)."""
    found = mysql_extract_sql(self, t.cast(exp.JSONExtract, expression))
    return f"(CASE JSON_TYPE({found}) WHEN 'NULL' THEN NULL ELSE JSON_UNQUOTE({found}) END)"


def mysql_contains_sql(self: t.Any, expression: exp.Expr) -> str:
    outer, inner = expression.this, expression.expression
    if isinstance(expression, exp.ArrayContainedBy):
        outer, inner = inner, outer
    return f"JSON_CONTAINS({self.sql(outer)}, {self.sql(inner)})"


def mysql_has_key_sql(self: t.Any, expression: exp.JSONBContainsTopKey) -> str:
    """j ? k: a top-level key of an object, or a string element of an array."""
    j, k = self.sql(expression, "this"), self.sql(expression, "expression")
    return (
        f"(JSON_CONTAINS_PATH({j}, 'one', CONCAT('$.', JSON_QUOTE({k})))"
        f" OR (JSON_TYPE({j}) IN ('ARRAY', 'STRING') AND JSON_CONTAINS({j}, JSON_QUOTE({k}))))"
    )


def sqlite_extract_scalar_sql(self: t.Any, expression: exp.JSONExtractScalar) -> str:
    """->> as text: SQLite's ->> gives numbers and booleans as SQL numbers ('2' <> 2)."""
    j, path = self.sql(expression, "this"), self.sql(expression, "expression")
    return (
        f"(CASE json_type({j}, {path}) WHEN 'text' THEN {j} ->> {path}"
        f" WHEN 'null' THEN NULL ELSE {j} -> {path} END)"
    )


def sqlite_contains_sql(self: t.Any, expression: exp.Expr) -> str:
    outer, inner = expression.this, expression.expression
    if isinstance(expression, exp.ArrayContainedBy):
        outer, inner = inner, outer
    return self.func("PG_JSON_CONTAINS", outer, inner)


def sqlite_has_key_sql(self: t.Any, expression: exp.JSONBContainsTopKey) -> str:
    return self.func("PG_JSON_HAS_KEY", expression.this, expression.expression)


MYSQL_TRANSFORMS: dict[type[exp.Expr], t.Callable[..., str]] = {
    exp.JSONExtract: mysql_extract_sql,
    exp.JSONExtractScalar: mysql_extract_scalar_sql,
    exp.ArrayContainsAll: mysql_contains_sql,
    exp.JSONBContains: mysql_contains_sql,
    exp.ArrayContainedBy: mysql_contains_sql,
    exp.JSONBContainsTopKey: mysql_has_key_sql,
}
SQLITE_TRANSFORMS: dict[type[exp.Expr], t.Callable[..., str]] = {
    exp.JSONExtractScalar: sqlite_extract_scalar_sql,
    exp.ArrayContainsAll: sqlite_contains_sql,
    exp.JSONBContains: sqlite_contains_sql,
    exp.ArrayContainedBy: sqlite_contains_sql,
    exp.JSONBContainsTopKey: sqlite_has_key_sql,
}
