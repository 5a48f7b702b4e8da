"""Plate formats of the simulated network: Belgian, Dutch, French, German, Luxembourgish.

A ``PlateFormat`` is a sequence of segments (what a plate shows between its
separators), each made of parts: a literal, characters from an alphabet, a
zero-padded number in a range, or a choice among codes. Every format numbers
its plates ``0 .. size-1`` (mixed radix), so a plate can be *drawn* at random
(``sample``) or *addressed* by index (``plate``), which is how the large
reference lists stream millions of distinct plates without holding them.

Contract: ``Plate.canon`` equals ``udfs.normalise.canon`` of every display
style of the plate, and ``CANON_PATTERNS[fmt.name]`` matches it.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from functools import cached_property

DIGITS = "0123456789"
# Current Belgian series: every letter but I, M, O, Q, U, W and Z in the group.
BE_LETTERS = "ABCDEFGHJKLNPRSTVXY"
# 1973-2010 series: I, M, O, Q and W were never issued.
BE_OLD_LETTERS = "ABCDEFGHJKLNPRSTUVXYZ"
NL_LETTERS = "BDFGHJKLNPRSTVXZ"            # consonants only, no C, M, Q, W, Y
FR_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"      # SIV: no I, O, U
DE_LETTERS = "ABCDEFGHIJKLMNOPRSTUVWXYZ"
DE_AREAS = ("AC", "B", "BN", "D", "DN", "DU", "E", "F", "HH", "K", "KLE", "KR", "M", "MG",
            "S", "SU", "TR", "VIE", "WES", "HS", "EU", "SB")
FR_DEPARTMENTS = ("02", "08", "54", "57", "59", "62", "67", "75", "77", "80", "92", "93")

# Country codes: the plate's ISO 3166-1 alpha-2 (reference entries) and the
# international vehicle code a camera reports (reads), spec §2.
VEHICLE_CODE = {"BE": "B", "NL": "NL", "FR": "F", "DE": "D", "LU": "L"}


@dataclass(frozen=True)
class Part:
    """One part of a segment. ``kind``: ``lit``, ``chars``, ``num`` or ``choice``."""

    kind: str
    text: str = ""             # lit: the literal; chars: the alphabet
    n: int = 1                 # chars: how many characters
    lo: int = 0                # num: smallest value
    hi: int = 0                # num: largest value
    width: int = 0             # num: zero-padded width (0 = no padding)
    options: tuple[str, ...] = ()  # choice: the codes

    @cached_property
    def size(self) -> int:
        if self.kind == "lit":
            return 1
        if self.kind == "chars":
            return len(self.text) ** self.n
        if self.kind == "num":
            return self.hi - self.lo + 1
        return len(self.options)

    @cached_property
    def table(self) -> tuple[str, ...]:
        """Every text of the part, by index (parts are small: at most 10^5 texts)."""
        if self.kind == "lit":
            return (self.text,)
        if self.kind == "chars":
            return tuple("".join(p) for p in itertools.product(self.text, repeat=self.n))
        if self.kind == "num":
            return tuple(f"{v:0{self.width}d}" if self.width else str(v)
                         for v in range(self.lo, self.hi + 1))
        return self.options

    def render(self, index: int) -> str:
        return self.table[index]


def lit(text: str) -> Part:
    return Part("lit", text)


def chars(alphabet: str, n: int) -> Part:
    return Part("chars", alphabet, n)


def num(lo: int, hi: int, width: int = 0) -> Part:
    return Part("num", lo=lo, hi=hi, width=width)


def choice(*options: str) -> Part:
    return Part("choice", options=tuple(options))


@dataclass(frozen=True)
class Plate:
    """A plate as issued: its country (ISO alpha-2), format name and segments."""

    country: str
    format: str
    segments: tuple[str, ...]
    separators: tuple[str, ...]

    @property
    def canon(self) -> str:
        return "".join(self.segments)

    def display(self, style: str = "native") -> str:
        """The plate as a camera prints it: ``native`` (the plate's own separators,
        e.g. ``1-ABC-123``, ``K-AB 1234``), ``space`` (``1 ABC 123``) or ``compact``."""
        if style == "compact":
            return self.canon
        seps = self.separators if style == "native" else (" ",) * len(self.separators)
        out = [self.segments[0]]
        for sep, segment in zip(seps, self.segments[1:]):
            out.append(sep + segment)
        return "".join(out)


STYLES = ("native", "space", "compact")


@dataclass(frozen=True)
class PlateFormat:
    """A plate format: ``size`` plates, numbered; ``vehicle_type`` is what carries it."""

    name: str
    country: str
    segments: tuple[tuple[Part, ...], ...]
    separators: tuple[str, ...]
    vehicle_type: str = "car"

    @cached_property
    def size(self) -> int:
        total = 1
        for segment in self.segments:
            for part in segment:
                total *= part.size
        return total

    @cached_property
    def _layout(self) -> tuple[tuple[int, Part, int], ...]:
        # (segment, part, radix) from the last part to the first: the mixed radix.
        return tuple((k, part, part.size) for k in reversed(range(len(self.segments)))
                     for part in reversed(self.segments[k]))

    def plate(self, index: int) -> Plate:
        """Plate number ``index`` (0 <= index < size) of this format."""
        if not 0 <= index < self.size:
            raise ValueError(f"{self.name}: plate index {index} outside 0..{self.size - 1}")
        texts = [""] * len(self.segments)
        for k, part, radix in self._layout:
            index, digit = divmod(index, radix)
            texts[k] = part.table[digit] + texts[k]
        return Plate(self.country, self.name, tuple(texts), self.separators)

    def sample(self, rng: random.Random) -> Plate:
        return self.plate(rng.randrange(self.size))


def _fmt(name, country, segments, separators, vehicle_type="car") -> PlateFormat:
    return PlateFormat(name, country, tuple(tuple(s) for s in segments), tuple(separators),
                       vehicle_type)


FORMATS: dict[str, PlateFormat] = {f.name: f for f in (
    # Belgium. Since November 2010: 1-ABC-123 (2-ABC-123 since 2021); letters
    # in front mark the special series.
    _fmt("be_current", "BE", [[choice("1", "2")], [chars(BE_LETTERS, 3)], [num(1, 999, 3)]], "--"),
    _fmt("be_1973", "BE", [[chars(BE_OLD_LETTERS, 3)], [num(1, 999, 3)]], "-"),
    _fmt("be_2008", "BE", [[num(1, 999, 3)], [chars(BE_OLD_LETTERS, 3)]], "-"),
    _fmt("be_motorcycle", "BE", [[lit("M")], [chars(BE_LETTERS, 3)], [num(1, 999, 3)]], "--",
         "motorcycle"),
    _fmt("be_oldtimer", "BE", [[lit("O")], [chars(BE_LETTERS, 3)], [num(1, 999, 3)]], "--"),
    _fmt("be_trailer", "BE", [[lit("Q")], [chars(BE_LETTERS, 3)], [num(1, 999, 3)]], "--",
         "truck"),
    _fmt("be_taxi", "BE", [[lit("T")], [lit("X"), chars(BE_LETTERS, 2)], [num(1, 999, 3)]], "--"),
    # The Netherlands: the side codes still common on the road.
    _fmt("nl_sc7", "NL", [[chars(DIGITS, 2)], [chars(NL_LETTERS, 3)], [chars(DIGITS, 1)]], "--"),
    _fmt("nl_sc8", "NL", [[chars(DIGITS, 1)], [chars(NL_LETTERS, 3)], [chars(DIGITS, 2)]], "--"),
    _fmt("nl_sc9", "NL", [[chars(NL_LETTERS, 2)], [chars(DIGITS, 3)], [chars(NL_LETTERS, 1)]], "--"),
    _fmt("nl_sc10", "NL", [[chars(NL_LETTERS, 1)], [chars(DIGITS, 3)], [chars(NL_LETTERS, 2)]], "--"),
    _fmt("nl_sc11", "NL", [[chars(NL_LETTERS, 3)], [chars(DIGITS, 2)], [chars(NL_LETTERS, 1)]], "--"),
    # France: SIV since 2009 (AB-123-CD), and the older FNI plates (1234 AB 59).
    _fmt("fr_siv", "FR", [[chars(FR_LETTERS, 2)], [num(1, 999, 3)], [chars(FR_LETTERS, 2)]], "--"),
    _fmt("fr_fni", "FR", [[num(100, 9999)], [chars(FR_LETTERS, 2)], [choice(*FR_DEPARTMENTS)]], "  "),
    # Germany: area code, one or two letters, a number of up to four digits.
    _fmt("de_1", "DE", [[choice(*DE_AREAS)], [chars(DE_LETTERS, 1)], [num(1, 9999)]], "- "),
    _fmt("de_2", "DE", [[choice(*DE_AREAS)], [chars(DE_LETTERS, 2)], [num(1, 9999)]], "- "),
    # Luxembourg: two letters and four digits, and the older all-digit plates.
    _fmt("lu_letters", "LU", [[chars("ABCDEFGHJKLMNPRSTUVWXYZ", 2)], [num(1000, 9999, 4)]], " "),
    _fmt("lu_digits", "LU", [[num(10000, 99999, 5)]], ""),
)}

# How the plates of each country on the road split between its formats.
FORMAT_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "BE": (("be_current", 0.80), ("be_1973", 0.07), ("be_2008", 0.04), ("be_motorcycle", 0.03),
           ("be_oldtimer", 0.01), ("be_trailer", 0.03), ("be_taxi", 0.02)),
    "NL": (("nl_sc7", 0.15), ("nl_sc8", 0.15), ("nl_sc9", 0.2), ("nl_sc10", 0.2),
           ("nl_sc11", 0.3)),
    "FR": (("fr_siv", 0.9), ("fr_fni", 0.1)),
    "DE": (("de_1", 0.4), ("de_2", 0.6)),
    "LU": (("lu_letters", 0.8), ("lu_digits", 0.2)),
}

# What each format's canonical text looks like: the tests hold every plate to these.
CANON_PATTERNS: dict[str, re.Pattern] = {name: re.compile(p) for name, p in {
    "be_current": rf"[12][{BE_LETTERS}]{{3}}\d{{3}}",
    "be_1973": rf"[{BE_OLD_LETTERS}]{{3}}\d{{3}}",
    "be_2008": rf"\d{{3}}[{BE_OLD_LETTERS}]{{3}}",
    "be_motorcycle": rf"M[{BE_LETTERS}]{{3}}\d{{3}}",
    "be_oldtimer": rf"O[{BE_LETTERS}]{{3}}\d{{3}}",
    "be_trailer": rf"Q[{BE_LETTERS}]{{3}}\d{{3}}",
    "be_taxi": rf"TX[{BE_LETTERS}]{{2}}\d{{3}}",
    "nl_sc7": rf"\d{{2}}[{NL_LETTERS}]{{3}}\d",
    "nl_sc8": rf"\d[{NL_LETTERS}]{{3}}\d{{2}}",
    "nl_sc9": rf"[{NL_LETTERS}]{{2}}\d{{3}}[{NL_LETTERS}]",
    "nl_sc10": rf"[{NL_LETTERS}]\d{{3}}[{NL_LETTERS}]{{2}}",
    "nl_sc11": rf"[{NL_LETTERS}]{{3}}\d{{2}}[{NL_LETTERS}]",
    "fr_siv": rf"[{FR_LETTERS}]{{2}}\d{{3}}[{FR_LETTERS}]{{2}}",
    "fr_fni": rf"[1-9]\d{{2,3}}[{FR_LETTERS}]{{2}}\d{{2}}",
    "de_1": rf"(?:{'|'.join(DE_AREAS)})[A-Z][1-9]\d{{0,3}}",
    "de_2": rf"(?:{'|'.join(DE_AREAS)})[A-Z]{{2}}[1-9]\d{{0,3}}",
    "lu_letters": r"[A-Z]{2}\d{4}",
    "lu_digits": r"[1-9]\d{4}",
}.items()}


def pick_format(rng: random.Random, country: str) -> PlateFormat:
    """A format of ``country`` drawn by its share of the plates on the road."""
    mix = FORMAT_MIX[country]
    names = [name for name, _ in mix]
    weights = [w for _, w in mix]
    return FORMATS[rng.choices(names, weights)[0]]


_CUMULATIVE = {
    country: [(sum(w for _, w in mix[: i + 1]) / sum(w for _, w in mix), FORMATS[name])
              for i, (name, _) in enumerate(mix)]
    for country, mix in FORMAT_MIX.items()
}


def format_at(country: str, fraction: float) -> PlateFormat:
    """The format of ``country`` at ``fraction`` (0..1) of its cumulative mix:
    the deterministic counterpart of ``pick_format`` for index-addressed plates."""
    table = _CUMULATIVE[country]
    for bound, fmt in table:
        if fraction < bound:
            return fmt
    return table[-1][1]
