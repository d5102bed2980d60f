"""A statement as a session keeps it between Parse and Execute."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dialects


@dataclass(slots=True)
class PreparedStatement:
    """A parsed statement with its parameter types (declared, inferred, or text)."""

    statement: dialects.Statement
    param_types: list[int]
    empty: bool
    literals: tuple[Any, ...] = ()  # values lifted out of a shaped text, bound after $n
    text: str = ""  # as the client wrote it (pg_prepared_statements.statement)
    prepared_at: float = 0.0  # time.time() of the Parse or PREPARE
    # What the session decides anew for each Bind, kept for the next one: the
    # parameter decoders by (formats, Style) (Session.decode_params).
    decoders: Any = None
    # (target, statement, Generated): its translation for the session's last target.
    translated: Any = None
    # The frontend's own memo of this statement's last result shape (the wire keeps
    # its RowDescription and row encoder there): opaque here.
    frontend: Any = None
    # An answer at the wire's plan for this statement (pgproxy/wire_reads.py), and who
    # learns one from the next run of it on the full path (Pipeline.backend): opaque here.
    read_plan: Any = None
    read_learner: Any = None
