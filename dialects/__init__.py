"""SQL translation: PostgreSQL (plus time-travel and branch hints) to each backend's dialect.

Pure functions, no I/O, nothing imported from pgproxy/. The proxy caches
`parse` by statement text and `generate` by (text, target), so a statement
already seen is never parsed again.
"""

from dialects.api import (
    BACKEND_TYPMOD,
    PARAMETER_TYPE,
    SUM_OF_INTEGERS_IF_INTEGRAL,
    Generated,
    Hints,
    Kind,
    ParamStyle,
    Setting,
    Statement,
    Step,
    Target,
    TranslationError,
)
from dialects.engines import MYSQL_SERVERS

__all__ = [
    "BACKEND_TYPMOD",
    "PARAMETER_TYPE",
    "SUM_OF_INTEGERS_IF_INTEGRAL",
    "Generated",
    "Hints",
    "Kind",
    "ParamStyle",
    "Setting",
    "Statement",
    "Step",
    "Target",
    "TranslationError",
    "generate",
    "parse",
    "session_setup",
]


# The implementations live in parsing.py and generation.py, not parse.py and
# generate.py: importing a submodule binds it as a package attribute, which
# would replace these functions with modules after the first call.


def parse(sql: str) -> list[Statement]:
    """Split and parse the client's text into statements (PostgreSQL dialect + hints)."""
    from dialects.parsing import parse as _parse

    return _parse(sql)


def generate(statement: Statement, target: Target) -> Generated:
    """The statement in the target's dialect, with driver placeholders."""
    from dialects.generation import generate as _generate

    return _generate(statement, target)


def session_setup(dialect: str) -> tuple[str, ...]:
    """Statements a new backend connection must run before translated SQL is valid on it."""
    if dialect == "sqlite":
        from dialects.sqlite import SESSION_SETUP

        return SESSION_SETUP
    if dialect in MYSQL_SERVERS:
        # generate_series() is a recursive CTE (dialects/series.py): lift MariaDB's default
        # limit of 1000 iterations. A connection opens before the server is known to be
        # MariaDB, so the setting is in a comment only MariaDB executes.
        return ("SET @pgproxy_session = 1 /*M! , SESSION max_recursive_iterations = 4294967295 */",)
    return ()
