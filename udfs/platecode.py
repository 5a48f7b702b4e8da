"""Canonical plates as integers, and the OCR-class key (spec §2, §4).

A canonical plate of 1..12 characters of ``A-Z0-9`` maps one-to-one onto an
integer below 2**63: ``int(plate, 36)`` plus an offset per length, so ``"0AB"``
and ``"AB"`` differ. The *OCR-class key* of a plate is the code of the plate
with every character replaced by the representative of its OCR class: two
plates of equal length are equal up to in-class substitutions exactly when
their keys are equal, so fuzzy matching is one hash look-up plus verification.
"""

from __future__ import annotations

import zlib

import numpy as np

MAX_CODED_LENGTH = 12
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# OFFSET[n]: the first code of a plate of n characters.
OFFSET = tuple(sum(36**i for i in range(n)) for n in range(MAX_CODED_LENGTH + 2))


def encode(plate: str) -> int:
    """The code of a canonical plate of 1..12 characters."""
    return int(plate, 36) + OFFSET[len(plate)]


def decode(code: int) -> str:
    """The plate of ``code`` (inverse of ``encode``)."""
    n = 1
    while OFFSET[n + 1] <= code:
        n += 1
    value = code - OFFSET[n]
    chars = []
    for _ in range(n):
        value, digit = divmod(value, 36)
        chars.append(DIGITS[digit])
    return "".join(reversed(chars))


class OcrClasses:
    """The OCR classes of the configuration, as translation tables.

    ``key(plate)`` is the OCR-class key; ``same_class(a, b)`` tells whether two
    characters may be confused. Classes must be disjoint (the settings check it).
    """

    def __init__(self, classes: tuple[str, ...]):
        self.classes = classes
        mapping = {ch: cls[0] for cls in classes for ch in cls}
        self.table = str.maketrans(mapping)
        self.bytes_table = bytes.maketrans(
            "".join(mapping).encode(), "".join(mapping.values()).encode())
        lut = np.arange(256, dtype=np.uint8)
        for ch, rep in mapping.items():
            lut[ord(ch)] = ord(rep)
        self.byte_table = lut  # the same mapping on ASCII bytes, for bulk loads

    def key(self, plate: str) -> int:
        return int(plate.translate(self.table), 36) + OFFSET[len(plate)]

    def same_class(self, a: str, b: str) -> bool:
        return a == b or a.translate(self.table) == b.translate(self.table)

    def bucket(self, plate: str, buckets: int) -> int:
        """Which of `buckets` a canonical plate belongs to: CRC-32 of its text with each
        character replaced by its class's representative, so plates that may be
        confused share one. The same in every process (not `hash`, which Python salts),
        and the same as org.feblam.flink.ReadPlates gives from a read's bytes in Java."""
        return zlib.crc32(plate.translate(self.table).encode("ascii")) % buckets


_DIGIT_OF_BYTE = np.full(256, 255, dtype=np.uint8)
for _i, _ch in enumerate(DIGITS):
    _DIGIT_OF_BYTE[ord(_ch)] = _i


def encode_many(plates: np.ndarray, byte_table: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised ``encode`` (or OCR-class key, given ``byte_table``) of a byte-string array.

    ``plates`` is a numpy ``S`` array. Returns ``(codes, ok)``: ``ok`` is False
    for rows that are not 1..12 characters of ``A-Z0-9`` (their code is junk);
    the caller takes the general path for those.
    """
    width = plates.dtype.itemsize
    matrix = plates.view(np.uint8).reshape(len(plates), width)
    if byte_table is not None:
        matrix = byte_table[matrix]
    lengths = (matrix != 0).sum(axis=1)
    digits = _DIGIT_OF_BYTE[matrix]
    ok = (lengths >= 1) & (lengths <= MAX_CODED_LENGTH)
    codes = np.zeros(len(plates), dtype=np.int64)
    for i in range(min(width, MAX_CODED_LENGTH)):
        inside = i < lengths
        d = digits[:, i]
        ok &= ~inside | (d != 255)
        codes = np.where(inside, codes * 36 + (d & 63), codes)
    if width > MAX_CODED_LENGTH:
        ok &= lengths <= MAX_CODED_LENGTH
    offsets = np.asarray(OFFSET, dtype=np.int64)
    codes = codes + offsets[np.clip(lengths, 0, MAX_CODED_LENGTH)]
    return codes, ok
