"""OCR noise as ANPR cameras make it.

``OcrModel.read`` turns the text printed on a plate into what a camera reports:
mostly the plate itself; sometimes a character swapped for one of its OCR class
(``0/O/D/Q``, ``1/I``, ``2/Z``, ``5/S``, ``6/G``, ``8/B``: the classes of the
matching configuration, so these misreads still give OCR hits); sometimes a
swap outside the classes (``7/T``, ``H/N``: no hit), a dropped character, an
extra one (the ``B`` of the EU band, a bolt read as ``1``), or garbage from a
grille or a sticker. Errors are more frequent at night, and a worn or dirty
plate is misread at the same place again and again. Separators of the printed
text are kept; only its letters and digits are touched.

Contract: every text ``read`` returns has a non-empty canonical form of at most
12 characters (the empty and too-long reads of spec §3 are made on purpose by
``feblam.simulate.invalid``), and every confidence is in [0, 1].
"""

from __future__ import annotations

import random
from typing import NamedTuple

from udfs.config import DEFAULT_OCR_CLASSES

CLEAN = "clean"
CONFUSABLE = "confusable"   # a swap within an OCR class
MISREAD = "misread"         # a swap outside the classes
DROPPED = "dropped"
EXTRA = "extra"
GARBAGE = "garbage"

# Look-alikes the classes do not cover: a camera makes these too.
_MISREADS = {"7": "T", "T": "7", "4": "A", "A": "4", "H": "N", "N": "H", "M": "N", "U": "V",
             "V": "U", "E": "F", "F": "E", "K": "X", "X": "K", "3": "8", "R": "P", "P": "R",
             "C": "G", "L": "I", "J": "1", "W": "V", "Y": "V"}
_BAND = {"BE": "B", "NL": "NL", "FR": "F", "DE": "D", "LU": "L"}
_GARBAGE = "IL1T7HNMVW0U"

# Per-read probabilities by day; multiplied by NIGHT_FACTOR at night.
RATES = ((CONFUSABLE, 0.05), (MISREAD, 0.012), (DROPPED, 0.012), (EXTRA, 0.008),
         (GARBAGE, 0.004))
NIGHT_FACTOR = 1.8
WORN_REPEAT = 0.5  # a worn plate is misread at its weak character this often


class OcrRead(NamedTuple):
    text: str
    confidence: float
    kind: str


def confusables(classes: tuple[str, ...] = DEFAULT_OCR_CLASSES) -> dict[str, str]:
    """Each character of an OCR class mapped to the others of its class."""
    table = {}
    for cls in classes:
        for ch in cls:
            table[ch] = cls.replace(ch, "")
    return table


class OcrModel:
    """The noise of one network's cameras; stateless, all randomness from ``rng``."""

    def __init__(self, classes: tuple[str, ...] = DEFAULT_OCR_CLASSES):
        self.confusable = confusables(classes)

    def weak_position(self, rng: random.Random, canon: str) -> int | None:
        """A character of ``canon`` a worn plate loses first: one with look-alikes."""
        candidates = [i for i, ch in enumerate(canon) if ch in self.confusable]
        return rng.choice(candidates) if candidates else None

    def read(self, rng: random.Random, printed: str, country: str, *, night: bool = False,
             weak: int | None = None) -> OcrRead:
        """What a camera reports for a plate printed as ``printed``.

        ``weak`` is the index (among letters and digits) of a worn character, or
        ``None``. Returns the text, its confidence and the kind of noise applied.
        """
        positions = [i for i, ch in enumerate(printed) if ch.isalnum()]
        if weak is not None and weak < len(positions) and rng.random() < WORN_REPEAT:
            at = positions[weak]
            swapped = self._confuse(rng, printed[at])
            if swapped:
                return self._result(rng, printed[:at] + swapped + printed[at + 1:], CONFUSABLE,
                                    night)
        factor = NIGHT_FACTOR if night else 1.0
        draw = rng.random()
        for kind, rate in RATES:
            draw -= rate * factor
            if draw < 0:
                text = self._apply(rng, kind, printed, positions, country)
                if text is not None:
                    return self._result(rng, text, kind, night)
                break
        return self._result(rng, printed, CLEAN, night)

    def _confuse(self, rng: random.Random, ch: str) -> str | None:
        others = self.confusable.get(ch)
        return rng.choice(others) if others else None

    def _apply(self, rng: random.Random, kind: str, printed: str, positions: list[int],
               country: str) -> str | None:
        if kind == GARBAGE:
            return "".join(rng.choice(_GARBAGE) for _ in range(rng.randint(1, 4)))
        if not positions:
            return None
        if kind == CONFUSABLE:
            swappable = [i for i in positions if printed[i] in self.confusable]
            if not swappable:
                return None
            count = 2 if len(swappable) > 1 and rng.random() < 0.15 else 1
            text = list(printed)
            for at in rng.sample(swappable, count):
                text[at] = self._confuse(rng, printed[at])
            return "".join(text)
        if kind == MISREAD:
            swappable = [i for i in positions if printed[i] in _MISREADS]
            if not swappable:
                return None
            at = rng.choice(swappable)
            return printed[:at] + _MISREADS[printed[at]] + printed[at + 1:]
        if kind == DROPPED:
            if len(positions) < 3:
                return None
            at = rng.choice(positions)
            return printed[:at] + printed[at + 1:]
        # EXTRA: the band's country letters, a doubled character, or a bolt.
        if len(positions) >= 11:
            return None
        style = rng.random()
        if style < 0.45:
            return _BAND.get(country, "B") + printed
        if style < 0.8:
            at = rng.choice(positions)
            return printed[:at + 1] + printed[at] + printed[at + 1:]
        return printed + "1"

    @staticmethod
    def _result(rng: random.Random, text: str, kind: str, night: bool) -> OcrRead:
        if kind == CLEAN:
            confidence = rng.betavariate(14, 2) if night else rng.betavariate(30, 2)
        elif kind == CONFUSABLE:
            confidence = rng.betavariate(9, 2.5)
        elif kind == GARBAGE:
            confidence = rng.uniform(0.05, 0.45)
        else:
            confidence = rng.betavariate(7, 3)
        return OcrRead(text, round(min(1.0, max(0.0, confidence)), 3), kind)
