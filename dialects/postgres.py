"""The input dialect: PostgreSQL as clients write it, tokenized so that `$n` is always a parameter.

sqlglot's compiled build (sqlglotc) refuses interpreted subclasses of its
Parser and Generator, but the Tokenizer and the Dialect stay plain Python:
this module subclasses those two only. Hint syntax (AS OF ...) is handled on
the token stream by hints.py before the stock parser sees it.
"""

from __future__ import annotations

import re

from sqlglot.dialects.postgres import Postgres
from sqlglot.tokens import Token, TokenType

# A dollar-quote opener as PostgreSQL's lexer defines it: $$ or $tag$ where
# the tag cannot start with a digit (so `$1,$2` is two parameters).
_DOLLAR_QUOTE = re.compile(r"(?<![\w$])\$(?:[A-Za-z_\x80-\uffff][\w\x80-\uffff]*)?\$")


class PgProxyPostgres(Postgres):
    """PostgreSQL, with `$n` never mistaken for a dollar-quoted string.

    The stock tokenizer reads `$1,$2` as a string tagged `1,` and fails; with
    dollar-quoting off, `$` followed by digits is a parameter. Text that holds
    a real dollar quote ($$...$$, $fn$...$fn$) goes through the stock
    tokenizer, whose heredoc handling is right for those.
    """

    class Tokenizer(Postgres.Tokenizer):
        HEREDOC_STRINGS = []
        SINGLE_TOKENS = {**Postgres.Tokenizer.SINGLE_TOKENS, "$": TokenType.PARAMETER}
        # The stock tokenizer swallows whatever follows SHOW, RESET, EXECUTE ... as one
        # string; parse.py classifies those statements from their real tokens instead.
        COMMANDS = set()


_INPUT = PgProxyPostgres()
_STOCK = Postgres()


def tokenize(sql: str) -> list[Token]:
    """Tokens of the client's text; raises sqlglot's TokenError on bad input."""
    if "$" in sql and _DOLLAR_QUOTE.search(sql):
        return _STOCK.tokenize(sql)
    return _INPUT.tokenize(sql)


def dialect() -> PgProxyPostgres:
    return _INPUT
