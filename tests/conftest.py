"""Fixture plugins shared by the whole suite; each lives in its own tests/fix_*.py."""

import importlib.util

pytest_plugins = ["tests.fix_servers", "tests.fix_proxy"]

# Plugins owned by other parts of the tree join once their file exists.
for _plugin in ("tests.fix_dolt",):
    if importlib.util.find_spec(_plugin) is not None:
        pytest_plugins.append(_plugin)
