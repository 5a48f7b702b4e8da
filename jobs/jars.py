"""Which connector and format jars a job adds to its pipeline (`pipeline.jars`).

PyFlink ships no Kafka, Parquet or registry jar, and FEBLAM's own Java classes
(maven/flink-records) are a jar too. A job finds them, first rule that applies:

1. `--jars`, the job's option: comma-separated jar files, directories (every
   `*.jar` in them) and URLs, on the machine that submits the job; the Flink
   client ships them with the job. `--jars none` adds nothing, for a cluster
   whose lib/ (or `flink run -C`) already holds them.
2. The jars scripts/setup resolved into `var/lib/<dir>/` of the FEBLAM checkout
   the job's files are in: the embedded mode, the tests and `feblam submit`.
3. Otherwise the job stops with a one-line error naming `--jars`.

Not `pipeline.jars` from the cluster's config.yaml or `-D`: `flink run -py`
replaces that key with its own flink-python jar before the job starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from jobs.flinkconf import CHECKOUT_ROOT

NONE = "none"
# Connector and format jars of every job, as laid out by maven/pom.xml.
CONNECTOR_JAR_DIRS = ("flink-jars",)


class ConnectorJarsNotFound(SystemExit):
    """A job has no jars to run with. A SystemExit, so that the operator sees the
    one-line message saying what to pass, not a traceback."""


def _is_url(entry: str) -> bool:
    return "://" in entry or entry.startswith("file:")


def parse_jars(value: str) -> list[str]:
    """The value of `--jars` as pipeline.jars URLs, in the order given (a directory's
    jars sorted by name); [] for `none`. Raises argparse.ArgumentTypeError naming
    the entry that is neither a URL, a jar file nor a directory holding jars."""
    if value.strip().lower() == NONE:
        return []
    urls: list[str] = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        if _is_url(entry):
            urls.append(entry)
            continue
        path = Path(entry).expanduser().resolve()
        if path.is_dir():
            jars = sorted(path.glob("*.jar"))
            if not jars:
                raise argparse.ArgumentTypeError(f"{entry}: a directory holding no .jar file")
            urls.extend(jar.as_uri() for jar in jars)
        elif path.is_file():
            urls.append(path.as_uri())
        else:
            raise argparse.ArgumentTypeError(f"{entry}: no such jar file or directory")
    if not urls:
        raise argparse.ArgumentTypeError(f"no jar in {value!r} (use '{NONE}' to add none)")
    return urls


def is_checkout(root: Path = CHECKOUT_ROOT) -> bool:
    """True when the job's files are a FEBLAM checkout's (flink-conf/ beside jobs/),
    not a copy shipped to a cluster or an installed package."""
    return (root / "flink-conf" / "config.yaml").is_file() and (root / "jobs").is_dir()


def connector_jars(given: Sequence[str] | None = None, dirs: Sequence[str] = CONNECTOR_JAR_DIRS,
                   root: Path = CHECKOUT_ROOT) -> list[str]:
    """The jar URLs a job adds: `given` (the parsed `--jars`) when not None, else
    the jars of `root/var/lib/<dir>` for each of `dirs` in a FEBLAM checkout.
    Raises ConnectorJarsNotFound when neither applies."""
    if given is not None:
        return list(given)
    if not is_checkout(root):
        raise ConnectorJarsNotFound(
            f"no connector jars: pass --jars with the jar files, directories or URLs (comma-separated), "
            f"or --jars {NONE} if the cluster's lib/ holds them")
    urls = []
    for name in dirs:
        jar_dir = root / "var" / "lib" / name
        jars = sorted(jar_dir.glob("*.jar"))
        if not jars:
            raise ConnectorJarsNotFound(f"no connector jars in {jar_dir}: run scripts/setup first, or pass --jars")
        urls.extend(jar.as_uri() for jar in jars)
    return urls
