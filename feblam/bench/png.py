"""A small RGB raster and a PNG writer (zlib + struct), enough for benchmark charts
without a plotting library: lines, rectangles and a 3x5 pixel font."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

# 3x5 glyphs, rows top to bottom, '#' = ink.
_GLYPHS = {
    "0": "###,#.#,#.#,#.#,###", "1": ".#.,##.,.#.,.#.,###", "2": "###,..#,###,#..,###",
    "3": "###,..#,.##,..#,###", "4": "#.#,#.#,###,..#,..#", "5": "###,#..,###,..#,###",
    "6": "###,#..,###,#.#,###", "7": "###,..#,.#.,.#.,.#.", "8": "###,#.#,###,#.#,###",
    "9": "###,#.#,###,..#,###", "A": ".#.,#.#,###,#.#,#.#", "B": "##.,#.#,##.,#.#,##.",
    "C": "###,#..,#..,#..,###", "D": "##.,#.#,#.#,#.#,##.", "E": "###,#..,##.,#..,###",
    "F": "###,#..,##.,#..,#..", "G": "###,#..,#.#,#.#,###", "H": "#.#,#.#,###,#.#,#.#",
    "I": "###,.#.,.#.,.#.,###", "K": "#.#,##.,#..,##.,#.#", "L": "#..,#..,#..,#..,###",
    "M": "#.#,###,###,#.#,#.#", "N": "##.,#.#,#.#,#.#,#.#", "O": "###,#.#,#.#,#.#,###",
    "P": "###,#.#,###,#..,#..", "Q": "###,#.#,#.#,###,..#", "R": "##.,#.#,##.,#.#,#.#",
    "S": "###,#..,###,..#,###", "T": "###,.#.,.#.,.#.,.#.", "U": "#.#,#.#,#.#,#.#,###",
    "V": "#.#,#.#,#.#,#.#,.#.", "W": "#.#,#.#,###,###,#.#", "X": "#.#,#.#,.#.,#.#,#.#",
    "Y": "#.#,#.#,.#.,.#.,.#.", "Z": "###,..#,.#.,#..,###", "/": "..#,..#,.#.,#..,#..",
    ".": "...,...,...,...,.#.", ",": "...,...,...,.#.,#..", "-": "...,...,###,...,...",
    "(": ".#.,#..,#..,#..,.#.", ")": ".#.,..#,..#,..#,.#.", "%": "#.#,..#,.#.,#..,#.#",
    ":": "...,.#.,...,.#.,...", "=": "...,###,...,###,...", " ": "...,...,...,...,...",
}


class Canvas:
    """A width x height RGB image, white, origin top left."""

    def __init__(self, width: int, height: int, background=(255, 255, 255)):
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(background) * (width * height))

    def set(self, x: int, y: int, colour) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 3 * (y * self.width + x)
            self.pixels[i:i + 3] = bytes(colour)

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour) -> None:
        """A filled rectangle, corners included."""
        for y in range(max(min(y0, y1), 0), min(max(y0, y1), self.height - 1) + 1):
            for x in range(max(min(x0, x1), 0), min(max(x0, x1), self.width - 1) + 1):
                self.set(x, y, colour)

    def line(self, x0: int, y0: int, x1: int, y1: int, colour, width: int = 1) -> None:
        """Bresenham's line, `width` pixels thick."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        error = dx + dy
        while True:
            for ox in range(width):
                for oy in range(width):
                    self.set(x0 + ox, y0 + oy, colour)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * error
            if e2 >= dy:
                error += dy
                x0 += sx
            if e2 <= dx:
                error += dx
                y0 += sy

    def text(self, x: int, y: int, text: str, colour=(0, 0, 0), scale: int = 2) -> None:
        """Upper-case text in the 3x5 font; unknown characters are drawn as blanks."""
        for char in text.upper():
            rows = _GLYPHS.get(char, _GLYPHS[" "]).split(",")
            for r, row in enumerate(rows):
                for c, ink in enumerate(row):
                    if ink == "#":
                        self.rect(x + c * scale, y + r * scale, x + (c + 1) * scale - 1, y + (r + 1) * scale - 1, colour)
            x += 4 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.pixels[3 * y * self.width:3 * (y + 1) * self.width])
                       for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(self.png())
        tmp.replace(path)


def read_png_header(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG; ValueError if `data` is not one."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])
