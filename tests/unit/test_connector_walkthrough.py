"""docs/adding-a-connector.md, followed: the example package is installed on its own
(into a temporary directory, as a data engineer's package would be), and FEBLAM then
lists its connector and passes its samples, without any change to FEBLAM.

The walkthrough's `pyproject.toml` is taken from the page as printed, put in a package
laid out as the page recommends (the package, `samples/`, `tests/`), and built with the
virtualenv's setuptools, offline: a snippet that does not build fails here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "feblam-acme-connector"
WALKTHROUGH = ROOT / "docs" / "adding-a-connector.md"
PYPROJECT_CAPTION = "`examples/feblam-acme-connector/pyproject.toml`:"
IGNORED = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")


def printed_pyproject() -> str:
    """The `pyproject.toml` the walkthrough prints: the toml block right after its caption."""
    text = WALKTHROUGH.read_text(encoding="utf-8")
    assert PYPROJECT_CAPTION in text, f"{WALKTHROUGH.name} no longer shows {PYPROJECT_CAPTION}"
    block = re.match(r"\s*```toml\n(.*?)^```", text.split(PYPROJECT_CAPTION, 1)[1], re.S | re.M)
    assert block, f"{WALKTHROUGH.name}: no ```toml block after {PYPROJECT_CAPTION}"
    return block.group(1)


@pytest.fixture
def laid_out(tmp_path) -> Path:
    """The package as the walkthrough lays it out, with its printed `pyproject.toml`:

        feblam-acme-connector/
          pyproject.toml            (the snippet, exactly as printed)
          feblam_acme_connector/    (step 2)
          samples/                  (step 4)
          tests/                    (step 4)
    """
    package = tmp_path / "feblam-acme-connector"
    for part in ("feblam_acme_connector", "samples", "tests"):
        shutil.copytree(EXAMPLE / part, package / part, ignore=IGNORED)
    (package / "pyproject.toml").write_text(printed_pyproject(), encoding="utf-8")
    return package


def test_the_printed_pyproject_builds_the_package_it_describes(laid_out, tmp_path):
    """The printed snippet, built as pip would build it (setuptools reads pyproject.toml and
    discovers the packages), with the virtualenv's setuptools and no network: the metadata
    and the modules a wheel would hold. "Multiple top-level packages discovered" fails it."""
    printed = tomllib.loads(printed_pyproject())
    build = printed.get("build-system", {})
    # No [build-system] means setuptools to pip too (its legacy backend, PEP 517).
    assert build.get("build-backend", "setuptools.build_meta") == "setuptools.build_meta", \
        "this test builds with setuptools; a snippet with another backend needs another test"
    for requirement in build.get("requires", []):
        from packaging.requirements import Requirement

        needed = Requirement(requirement)
        assert needed.specifier.contains(version(needed.name), prereleases=True), \
            f"the virtualenv's {needed.name} {version(needed.name)} does not satisfy {requirement}"
    out = tmp_path / "built"
    out.mkdir()
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", "from setuptools import setup; setup()",
                             "-q", "egg_info", "--egg-base", str(out), "build_py", "--build-lib", str(out / "lib")],
                            cwd=laid_out, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, "the printed pyproject.toml does not build:\n" + result.stdout + result.stderr
    modules = sorted(p.relative_to(out / "lib").as_posix() for p in (out / "lib").rglob("*.py"))
    assert modules == ["feblam_acme_connector/__init__.py"], modules
    (info,) = out.glob("*.egg-info")
    assert (info / "top_level.txt").read_text().split() == ["feblam_acme_connector"]
    metadata = (info / "PKG-INFO").read_text()
    assert "Name: feblam-acme-connector" in metadata and "Version: 0.1.0" in metadata
    entry_points = (info / "entry_points.txt").read_text()
    assert "[feblam.read_connectors]" in entry_points
    assert "acme-xml = feblam_acme_connector:AcmeXmlReads" in entry_points


def test_the_printed_pyproject_is_the_examples_own():
    """Every setting the page prints is the example package's, which the tests below install."""
    printed = tomllib.loads(printed_pyproject())
    example = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))

    def differences(shown, actual, where=""):
        for key, value in shown.items():
            if isinstance(value, dict) and isinstance(actual.get(key), dict):
                yield from differences(value, actual[key], f"{where}{key}.")
            elif actual.get(key) != value:
                yield f"{where}{key}: printed {value!r}, example {actual.get(key)!r}"

    assert not list(differences(printed, example)), list(differences(printed, example))


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`pip install --no-deps --target TMP examples/feblam-acme-connector`, from a copy so
    that the build leaves nothing in the repository."""
    work = tmp_path_factory.mktemp("acme")
    source = work / "source"
    shutil.copytree(EXAMPLE, source, ignore=IGNORED)
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
