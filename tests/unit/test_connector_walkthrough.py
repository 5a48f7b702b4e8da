"""docs/adding-a-connector.md, followed: the example package is installed on its own
(into a temporary directory, as a data engineer's package would be), and FEBLAM then
lists its connector and passes its samples, without any change to FEBLAM."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "feblam-acme-connector"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`pip install --no-deps --target TMP examples/feblam-acme-connector`, from a copy so
    that the build leaves nothing in the repository."""
    work = tmp_path_factory.mktemp("acme")
    source = work / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                             "--no-deps", "--target", str(target), str(source)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def feblam(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "feblam.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_the_installed_package_adds_its_connector_to_the_list(installed):
    listed = feblam(installed, "connectors", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if row.startswith("acme-xml "))
    assert "topic" in line and "feblam-acme-connector 0.1.0" in line
    assert "ACME ANPR cameras" in line
    for name in ("avro", "vendor-json", "csv-folder"):
        assert any(row.startswith(name + " ") for row in listed.stdout.splitlines())


def test_its_samples_pass_the_test_kit(installed):
    checked = feblam(installed, "connectors", "check", "acme-xml", str(EXAMPLE / "samples"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "5 sample file(s), 5 payload(s) (1 read(s), 4 rejected)" in checked.stdout


def test_its_own_pytest_passes(installed):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_the_package_feblam_does_not_know_it():
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "connectors", "check", "acme-xml",
                             str(EXAMPLE / "samples")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "no read connector 'acme-xml'" in result.stderr
