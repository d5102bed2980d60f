"""Queries over several routes: sqlglot split + pushdown, DuckDB over Arrow joins."""
