"""The design's layout rule: the product never imports the tools beside it.

jobs/, connectors/ and udfs/ run inside Flink on clusters FEBLAM never started,
so none of their modules may import `feblam` (the CLI, the local stack, the
simulator, the benchmarks), directly or by name through importlib.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("jobs", "connectors", "udfs", "gateway")
IMPORT_BY_NAME = {"import_module", "__import__"}


def _is_feblam(module: str | None) -> bool:
    return module is not None and (module == "feblam" or module.startswith("feblam."))


def feblam_imports(source: str) -> list[str]:
    """`line: module` for every import of feblam in `source`, by statement or by name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: {alias.name}" for alias in node.names if _is_feblam(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_feblam(node.module):
            found.append(f"{node.lineno}: {node.module}")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in IMPORT_BY_NAME and isinstance(node.args[0].value, str) and _is_feblam(node.args[0].value):
                found.append(f"{node.lineno}: {node.args[0].value}")
    return found


def product_modules() -> list[Path]:
    return sorted(path for package in PRODUCT for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", product_modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_product_module_does_not_import_feblam(path):
    assert feblam_imports(path.read_text()) == [], f"{path.relative_to(ROOT)} imports the tools beside the product"


def test_every_kind_of_feblam_import_is_caught():
    source = "\n".join([
        "import feblam",
        "import os, feblam.stack.settings as s",
        "from feblam.flinkconf import connector_jars",
        "importlib.import_module('feblam.cli')",
        "from feblamish import x",  # another package, not feblam
        "from . import feblam",  # a relative import inside the product
        "group = 'feblam.read_connectors'",  # an entry-point group, not an import
    ])
    assert feblam_imports(source) == ["1: feblam", "2: feblam.stack.settings", "3: feblam.flinkconf", "4: feblam.cli"]
