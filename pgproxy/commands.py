"""Statements the proxy answers itself: SET, RESET, SHOW and USE."""

from __future__ import annotations

import dialects
from pgproxy import pgtypes
from pgproxy.backends.base import Column
from pgproxy.core.context import StatementContext
from pgproxy.results import RowsResult
from pgproxy.settings import display_name

Kind = dialects.Kind
LOCAL_KINDS = frozenset({Kind.SET, Kind.SHOW, Kind.USE})


def _text(name: str) -> Column:
    return Column(name, pgtypes.TEXT)


def show_columns(setting: dialects.Setting) -> list[Column]:
    if setting.name == "all":
        return [_text("name"), _text("setting"), _text("description")]
    return [_text(display_name(setting.name))]  # SHOW TimeZone names its column "TimeZone"


def run_local(ctx: StatementContext, stmt: dialects.Statement) -> RowsResult:
    setting = stmt.setting
    if stmt.kind is Kind.USE:
        assert setting is not None and setting.value is not None
        ctx.use(setting.value)
        return RowsResult("USE")
    assert setting is not None
    if stmt.kind is Kind.SHOW:
        columns = show_columns(setting)
        if setting.name == "all":
            return RowsResult("SHOW", columns, ctx.settings.all())
        return RowsResult("SHOW", columns, [(ctx.settings.get(setting.name),)])
    if setting.local and not ctx.in_transaction:
        # PostgreSQL warns "SET LOCAL can only be used in transaction blocks" and
        # changes nothing: the value would last only as long as this statement.
        return RowsResult(stmt.tag or "SET")
    ctx.apply_setting(setting)
    return RowsResult(stmt.tag or "SET")
