"""The model Alembic compares with the database: the column kinds migrations meet most."""

import sqlalchemy as sa

metadata = sa.MetaData()

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(200), nullable=False, unique=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("balance", sa.Numeric(12, 2)),
    sa.Column("created", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("profile", sa.JSON),
    sa.Column("notes", sa.Text),
)

transfers = sa.Table(
    "transfers",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_transfers_at", "at"),
)
