"""Writing the simulation to the JSON Lines files of the embedded mode (spec §10).

A ``FileSink`` holds one file per stream (``cameras``, ``reference``, ``reads``):
``add(stream, payload)`` writes one line (a dict as compact JSON, a text as
is), ``close()`` moves the finished files into place. Files are written under a
temporary name and renamed on success, so a reader never sees half a file; on
failure (``abort()``) the temporary files are removed. Another sink (e.g.
Kafka) only needs the same ``add``/``close``/``abort``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

FILES = {"cameras": "cameras.jsonl", "reference": "reference.jsonl", "reads": "reads.jsonl"}


class Sink(Protocol):
    def add(self, stream: str, payload: dict | str) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


def to_line(payload: dict | str) -> str:
    """One JSON Lines line (without the newline); a text payload is written as is."""
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class FileSink:
    """The three files of a simulated run in directory ``out``."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.paths = {name: self.out / filename for name, filename in FILES.items()}
        self._files = {name: path.with_name(path.name + ".tmp").open("w", encoding="utf-8")
                       for name, path in self.paths.items()}
        self.counts = dict.fromkeys(FILES, 0)

    def add(self, stream: str, payload: dict | str) -> None:
        line = to_line(payload)
        if "\n" in line or not line.strip():
            raise ValueError(f"{stream}: a JSON Lines record must be one non-blank line")
        self._files[stream].write(line + "\n")
        self.counts[stream] += 1

    def close(self) -> None:
        for name, handle in self._files.items():
            handle.close()
            tmp = Path(handle.name)
            tmp.replace(self.paths[name])

    def abort(self) -> None:
        for handle in self._files.values():
            handle.close()
            Path(handle.name).unlink(missing_ok=True)
