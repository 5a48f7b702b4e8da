"""The design's layout rules, read from the imports of every module.

- The product (`udfs/`, `gateway/`, `history/`, `console/`, `connectors/`, `ingest/`, `jobs/`, `schemas/`)
  never imports the tools beside it (`feblam`: the CLI, the local stack, the
  simulator, the benchmarks): jobs run inside Flink on clusters FEBLAM never
  started, and ingest runs beside cameras' feeds.
- The pure packages (`udfs/`, `gateway/`, `history/`) import no Flink, no Kafka client and
  no I/O package of the product: their rules are tested in seconds.
- `connectors/` and `ingest/` never import `jobs/`: I/O does not depend on wiring.
- The tools never import the CLI's command modules (`feblam.commands`): a
  benchmark or the live demo calls the library a command calls, not the command.

Imports are found by statement or by name through importlib.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("udfs", "gateway", "history", "console", "connectors", "ingest", "jobs", "schemas")
PURE = ("udfs", "gateway", "history")
IMPORT_BY_NAME = {"import_module", "__import__"}

# package -> the top-level packages (or dotted prefixes) its modules must not import
RULES = {
    **{package: ("feblam",) for package in PRODUCT},
    **{package: ("feblam", "pyflink", "confluent_kafka", "connectors", "ingest", "jobs") for package in PURE},
    "connectors": ("feblam", "jobs"),
    "ingest": ("feblam", "jobs"),
    # The console is a server beside the jobs: it reads and writes Kafka through connectors/.
    "console": ("feblam", "jobs", "pyflink"),
    "feblam": ("feblam.commands",),
}
# The CLI itself is the door: it may import its commands.
CLI = ("feblam/cli.py", "feblam/commands/")


def _within(module: str | None, prefix: str) -> bool:
    return module is not None and (module == prefix or module.startswith(prefix + "."))


def imports(source: str, forbidden: tuple[str, ...]) -> list[str]:
    """`line: module` for every import in `source` of a module under one of `forbidden`."""
    def bad(module):
        return any(_within(module, prefix) for prefix in forbidden)

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: {alias.name}" for alias in node.names if bad(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and bad(node.module):
            found.append(f"{node.lineno}: {node.module}")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in IMPORT_BY_NAME and isinstance(node.args[0].value, str) and bad(node.args[0].value):
                found.append(f"{node.lineno}: {node.args[0].value}")
    return found


def modules() -> list[tuple[Path, tuple[str, ...]]]:
    found = []
    for package, forbidden in RULES.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if package == "feblam" and relative.startswith(CLI):
                continue
            found.append((path, forbidden))
    return found


@pytest.mark.parametrize("path, forbidden", modules(), ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else "")
def test_module_keeps_to_its_layer(path, forbidden):
    assert imports(path.read_text(), forbidden) == [], \
        f"{path.relative_to(ROOT)} imports what its layer must not ({', '.join(forbidden)}); see README, Layout"


def test_every_product_package_is_ruled():
    """A new top-level package of the product must be added here, with its rule."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "examples"} <= set(RULES), packages - set(RULES)


def test_every_kind_of_import_is_caught():
    source = "\n".join([
        "import feblam",
        "import os, feblam.stack.settings as s",
        "from feblam.flinkconf import connector_jars",
        "importlib.import_module('feblam.cli')",
        "from feblamish import x",  # another package, not feblam
        "from . import feblam",  # a relative import inside the product
        "group = 'feblam.read_connectors'",  # an entry-point group, not an import
        "from pyflink.datastream import DataStream",
    ])
    assert imports(source, ("feblam",)) == ["1: feblam", "2: feblam.stack.settings", "3: feblam.flinkconf",
                                            "4: feblam.cli"]
    assert imports(source, ("feblam.commands", "pyflink")) == ["8: pyflink.datastream"]
