"""Normalisation of plates and countries (spec §2).

``canon`` is the one definition of a canonical plate: every comparison between
a read and an entry happens on canonical text.
"""

from __future__ import annotations

import re
import unicodedata

MAX_PLATE_LENGTH = 12  # spec §3: a longer canonical read is PLATE_TOO_LONG
WILDCARDS = "?*"

_NOT_CANON = re.compile(r"[^A-Z0-9]+")
_NOT_PATTERN = re.compile(r"[^A-Z0-9?*]+")


def _fold(text: str) -> str:
    # NFKD, then drop the combining marks, then upper-case (spec §2, in that order).
    if text.isascii():
        return text.upper()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.upper()


def canon(text: str) -> str:
    """Spec §2: NFKD, drop combining marks, upper-case, keep only ``A-Z0-9``.

    >>> canon("1-abc-123"), canon("1 ABC 123"), canon("1.ABC.123")
    ('1ABC123', '1ABC123', '1ABC123')
    """
    if text.isascii() and text.isalnum():
        return text.upper()
    return _NOT_CANON.sub("", _fold(text))


def canon_pattern(text: str) -> str:
    """Spec §2: an entry plate, normalised like ``canon`` but keeping ``?`` and ``*``."""
    return _NOT_PATTERN.sub("", _fold(text))


# Spec §2: international vehicle codes accepted besides ISO 3166-1 alpha-2.
VEHICLE_CODES = {
    "B": "BE", "F": "FR", "D": "DE", "L": "LU", "NL": "NL", "GB": "GB", "UK": "GB",
    "E": "ES", "I": "IT", "A": "AT", "CH": "CH", "PL": "PL",
}

ISO_ALPHA2 = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ
    BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU
    CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB
    GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL
    IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI
    LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN
    PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR
    SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US
    UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split()
)


def country(value: object) -> str | None:
    """Spec §2: the ISO 3166-1 alpha-2 code of ``value``, or ``None`` for unknown.

    Accepts alpha-2 codes and the international vehicle codes of the spec, in
    any case and with surrounding blanks. Empty, unknown or non-text values mean
    *country unknown*, which is not an error.
    """
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    mapped = VEHICLE_CODES.get(code)
    if mapped is not None:
        return mapped
    return code if code in ISO_ALPHA2 else None


def compatible(a: str | None, b: str | None) -> bool:
    """Spec §4: countries are compatible when either is unknown or both are equal."""
    return a is None or b is None or a == b
