"""pgproxy: a PostgreSQL wire-protocol proxy for SQLite, MySQL/MariaDB, SQL Server and Dolt."""

__version__ = "0.1.0"
