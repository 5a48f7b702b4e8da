"""Test layout: tests/unit needs nothing running; tests/integration needs the real
stack (scripts/stack up) and is marked `integration` automatically, so
`pytest -m "not integration"` runs the fast set alone and `-m integration` the rest.
"""

from pathlib import Path

import pytest

INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
