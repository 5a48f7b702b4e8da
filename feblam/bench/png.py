"""The size of a PNG, read from its header.

The charts themselves are drawn by matplotlib (feblam.bench.chart); this stays
for tests/integration/test_bench_e2e.py, which checks the written chart's size
without decoding it.
"""

from __future__ import annotations

import struct

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png_header(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG; ValueError if `data` is not one."""
    if data[:8] != SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])
