"""Alembic against a database URL (argv[1]): autogenerate from an empty database, upgrade,
autogenerate again (must find nothing), downgrade to base, upgrade again.

Prints one JSON object; tests/integration/test_tools_alembic.py judges it.
"""

import json
import os
import sys
import tempfile

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import metadata

ENV_PY = """
from alembic import context
import sqlalchemy as sa
from models import metadata

engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
"""

url = sys.argv[1]
out: dict[str, object] = {}
with tempfile.TemporaryDirectory() as tmp:
    cfg = Config(os.path.join(tmp, "alembic.ini"))
    cfg.set_main_option("script_location", os.path.join(tmp, "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.init(cfg, os.path.join(tmp, "migrations"))
    with open(os.path.join(tmp, "migrations", "env.py"), "w") as f:
        f.write(ENV_PY)
    first = command.revision(cfg, message="initial", autogenerate=True)
    text = open(first.path).read()
    out["creates"] = sorted(t for t in ("accounts", "transfers") if f"'{t}'" in text)
    command.upgrade(cfg, "head")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    out["diff_after_upgrade"] = [repr(d) for d in diff]
    second = command.revision(cfg, message="nothing", autogenerate=True)
    body = open(second.path).read()
    out["second_is_empty"] = body.count("pass") >= 2 and "op." not in body.replace(
        "from alembic import op", ""
    )
    command.downgrade(cfg, "base")
    out["tables_after_downgrade"] = sorted(
        t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"
    )
    command.upgrade(cfg, "head")
    out["tables_after_upgrade"] = sorted(
        t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"
    )
    engine.dispose()
print(json.dumps(out))
