"""Which backend dialects share what, in one table instead of name tests spread over dialects/."""

# The stock sqlglot dialect a backend dialect's SQL is written in: its quoting, its
# literals, the CREATE TABLE of the proxy's own tables (sqlglot's reader of that SQL too).
STOCK: dict[str, str] = {
    "sqlite": "sqlite", "mysql": "mysql", "mariadb": "mysql", "dolt": "mysql", "babelfish": "tsql",
}

# A MySQL or MariaDB server: DDL as steps (mysql_ddl.py) and the session setup it needs.
# Dolt's SQL engine is its own and takes neither.
MYSQL_SERVERS = frozenset({"mysql", "mariadb"})

# T-SQL over TDS: SQL Server, and Babelfish for PostgreSQL (other collation names, no
# temporal tables).
TSQL_SERVERS = frozenset({"tsql", "babelfish"})


def stock(dialect: str) -> str:
    """The stock sqlglot dialect `dialect` writes (a stock one, 'postgres', is itself)."""
    return STOCK.get(dialect, dialect)
