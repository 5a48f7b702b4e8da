"""Find a Java runtime recent enough for each service.

Kafka 4 and Flink 2 run on Java 17; Apicurio Registry 3.3 needs Java 21 or
newer. A machine often has several JDKs under /usr/lib/jvm, so the stack picks
per service instead of trusting whatever `java` is first on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path


class JavaNotFoundError(RuntimeError):
    """No installed JDK satisfies a service's minimum version."""


def _major(java: Path) -> int | None:
    release = java.parent.parent / "release"
    text = release.read_text() if release.is_file() else ""
    match = re.search(r'JAVA_VERSION="(\d+)', text)
    if not match:
        try:
            out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
        except (OSError, subprocess.TimeoutExpired):
            return None
        match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else None


@lru_cache(maxsize=None)
def candidates() -> tuple[tuple[int, Path], ...]:
    """(major version, java binary) of every JDK found, JAVA_HOME and PATH first."""
    paths: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        paths.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        paths.append(Path(on_path).resolve())
    jvm_root = Path("/usr/lib/jvm")
    if jvm_root.is_dir():
        paths.extend(sorted(jvm_root.glob("*/bin/java")))
    seen: set[Path] = set()
    found = []
    for path in paths:
        real = path.resolve()
        if real in seen or not real.is_file():
            continue
        seen.add(real)
        major = _major(real)
        if major is not None:
            found.append((major, real))
    return tuple(found)


def java_home(minimum: int, env_var: str | None = None) -> Path:
    """The JAVA_HOME of the first JDK with major version >= `minimum`.

    `env_var`, when set in the environment, names a JAVA_HOME to use instead.
    """
    if env_var and os.environ.get(env_var):
        return Path(os.environ[env_var])
    for major, java in candidates():
        if major >= minimum:
            return java.parent.parent
    have = ", ".join(f"{java} ({major})" for major, java in candidates()) or "none"
    hint = f" or set {env_var} to a JAVA_HOME" if env_var else ""
    raise JavaNotFoundError(f"need Java {minimum} or newer; found: {have}. Install one{hint}.")
