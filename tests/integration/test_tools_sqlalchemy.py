"""SQLAlchemy 2 with psycopg through the proxy: reflection and a small ORM round trip."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import ForeignKey, String, create_engine, inspect, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

pytestmark = pytest.mark.integration


def test_create_all_orm_and_reflection(proxy):
    suffix = uuid.uuid4().hex[:6]

    class Base(DeclarativeBase):
        pass

    class Author(Base):
        __tablename__ = f"sa_author_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50), unique=True)

    class Book(Base):
        __tablename__ = f"sa_book_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str] = mapped_column(String(100), index=True)
        author_id: Mapped[int] = mapped_column(ForeignKey(Author.id))

    engine = create_engine(proxy.url().replace("postgresql://", "postgresql+psycopg://"))
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            # Explicit keys: MySQL has no INSERT ... RETURNING for generated ones.
            s.add(Author(id=1, name="ann"))
            s.flush()
            s.add(Book(id=1, title="dune", author_id=1))
            s.commit()
            titles = s.scalars(select(Book.title).join(Author, Author.id == Book.author_id))
            assert titles.all() == ["dune"]

        insp = inspect(engine)
        assert {Author.__tablename__, Book.__tablename__} <= set(insp.get_table_names())
        columns = {c["name"]: c for c in insp.get_columns(Book.__tablename__)}
        assert list(columns) == ["id", "title", "author_id"]
        assert str(columns["title"]["type"]) == "VARCHAR(100)"
        assert columns["title"]["nullable"] is False
        assert columns["id"]["autoincrement"] is True
        pk = insp.get_pk_constraint(Book.__tablename__)
        assert pk["constrained_columns"] == ["id"]
        (fk,) = insp.get_foreign_keys(Book.__tablename__)
        assert fk["constrained_columns"] == ["author_id"]
        assert fk["referred_table"] == Author.__tablename__
        assert fk["referred_columns"] == ["id"]
        indexes = {i["name"]: i for i in insp.get_indexes(Book.__tablename__)}
        assert indexes[f"ix_{Book.__tablename__}_title"]["column_names"] == ["title"]
        assert "public" in insp.get_schema_names()
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()
