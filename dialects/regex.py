"""PostgreSQL's regular-expression matches (`~`, `~*`, `!~`, `!~*`, SIMILAR TO) spelled for
backends without them: SIMILAR TO becomes the anchored regular expression PostgreSQL
itself builds from the pattern (similar_to_escape); the backends then match it with
their own engine (SQLite: Python's re, registered as regexp(); MariaDB: PCRE)."""

from __future__ import annotations

import typing as t

from sqlglot import exp

from dialects.api import TranslationError


def similar_regex(pattern: str, escape: str | None = "\\") -> str:
    """The regular expression for a SIMILAR TO pattern, as PostgreSQL's similar_escape."""
    out = ["^(?:"]
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if escape and c == escape:
            i += 1
            if i < len(pattern):
                nxt = pattern[i]
                out.append(nxt if nxt.isalnum() else "\\" + nxt)
            i += 1
            continue
        if in_class:
            out.append("\\\\" if c == "\\" else c)
            in_class = c != "]"
        elif c == "[":
            out.append(c)
            in_class = True
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c in ".^$\\":
            out.append("\\" + c)
        else:
            out.append(c)  # | * + ? { } ( ) keep their regular-expression meaning
        i += 1
    out.append(")$")
    return "".join(out)


def similar_to(expression: exp.Expr) -> exp.Expr:
    """SIMILAR TO '<literal>' [ESCAPE '<c>'] -> a regular-expression match."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        escape: str | None = "\\"
        if isinstance(node, exp.Escape) and isinstance(node.this, exp.SimilarTo):
            if not (isinstance(node.expression, exp.Literal) and node.expression.is_string):
                raise TranslationError("SIMILAR TO … ESCAPE takes a literal", "0A000")
            escape = node.expression.this or None
            node = node.this
        elif not isinstance(node, exp.SimilarTo):
            return node
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise TranslationError(
                "SIMILAR TO with a pattern that is not a literal is not supported here", "0A000"
            )
        regex = exp.Literal.string(similar_regex(pattern.this, escape))
        return exp.RegexpLike(this=node.this, expression=regex)

    return expression.transform(rewrite, copy=False)


def mysql_regexp_sql(self: t.Any, expression: exp.RegexpLike | exp.RegexpILike) -> str:
    """MariaDB's REGEXP follows the collation's case rule; PCRE's (?-i) / (?i) fix it."""
    flag = "(?i)" if isinstance(expression, exp.RegexpILike) else "(?-i)"
    value = self.sql(expression, "this")
    pattern = self.sql(expression, "expression")
    return f"({value} REGEXP CONCAT('{flag}', {pattern}))"


def sqlite_regexp_sql(self: t.Any, expression: exp.RegexpLike | exp.RegexpILike) -> str:
    """The regexp() / regexp_i() functions pgproxy registers on SQLite connections."""
    name = "PG_REGEXP_I" if isinstance(expression, exp.RegexpILike) else "PG_REGEXP"
    return self.func(name, expression.this, expression.expression)
