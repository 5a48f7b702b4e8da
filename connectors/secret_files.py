"""Secrets are read from files, never taken from a command line or printed: one rule
for every client setting that holds a password (Kafka's SASL password, the
registry's basic auth)."""

from __future__ import annotations

from pathlib import Path


def read_secret(path: str | Path, where: str, error: type[Exception]) -> str:
    """The file's content without a final line break. `error`, with `where` (what the
    file is and which setting named it) in its message, when the file is missing,
    unreadable or empty; the message never holds the content."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise error(f"{where} does not exist") from None
    except OSError as problem:
        raise error(f"{where} cannot be read: {problem.strerror}") from None
    secret = text.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise error(f"{where} is empty")
    return secret
