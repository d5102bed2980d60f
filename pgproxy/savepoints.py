"""Savepoint names as PostgreSQL keeps them: a reused name makes a new savepoint.

In PostgreSQL `SAVEPOINT a; SAVEPOINT a;` keeps both; ROLLBACK TO a and
RELEASE a act on the latest. MySQL replaces the older one instead. The proxy
keeps the session's savepoints as a stack and gives a reused name a backend
name of its own (`a~2`), so every backend sees distinct savepoints and each
statement lands on the one PostgreSQL would pick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dialects import Kind, TranslationError
from dialects.classify import savepoint_name
from dialects.postgres import tokenize


@dataclass(slots=True)
class Savepoints:
    """One session's savepoints, oldest first: (name, name on the backend)."""

    stack: list[tuple[str, str]] = field(default_factory=list)

    def backend_sql(self, kind: object, sql: str) -> str | None:
        """The statement to send instead of `sql` (None: send it as it is)."""
        try:
            name = savepoint_name(tokenize(sql))
        except TranslationError:  # the dialect layer reports the syntax error itself
            return None
        if kind is Kind.SAVEPOINT:
            taken = sum(1 for n, _ in self.stack if n == name)
            backend = f"{name}~{taken + 1}" if taken else name
            return f"SAVEPOINT {_quoted(backend)}" if taken else None
        latest = self._latest(name)
        if latest is None:
            return None  # the backend says it does not exist
        verb = "RELEASE SAVEPOINT" if kind is Kind.RELEASE else "ROLLBACK TO SAVEPOINT"
        return f"{verb} {_quoted(self.stack[latest][1])}"

    def done(self, kind: object, sql: str) -> None:
        """The backend ran `sql` (a savepoint statement): the stack follows."""
        try:
            name = savepoint_name(tokenize(sql))
        except TranslationError:
            return
        if kind is Kind.SAVEPOINT:
            taken = sum(1 for n, _ in self.stack if n == name)
            self.stack.append((name, f"{name}~{taken + 1}" if taken else name))
            return
        latest = self._latest(name)
        if latest is not None:  # ROLLBACK TO keeps its savepoint, RELEASE drops it too
            del self.stack[latest + (kind is Kind.ROLLBACK_TO):]

    def clear(self) -> None:
        self.stack.clear()

    def _latest(self, name: str) -> int | None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == name:
                return i
        return None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
