"""Score, priority and explanation of a hit (spec §6)."""

from __future__ import annotations

import math

from udfs.model import WILDCARD

SUBSTITUTION_PENALTY = 10
WILDCARD_PENALTY = 15
UNKNOWN_COUNTRY_PENALTY = 10


def priority(score: int) -> str:
    """Spec §6: P1 if score >= 80, P2 if >= 60, P3 if >= 30, else P4."""
    if score >= 80:
        return "P1"
    if score >= 60:
        return "P2"
    if score >= 30:
        return "P3"
    return "P4"


def score(severity: int, match_kind: str, substitutions: int, country_known: bool,
          ocr_confidence: float) -> tuple[int, str, tuple[tuple[str, float], ...]]:
    """Spec §6: ``(score, priority, explanation)``.

    ``raw = clamp(severity - penalty, 0, 100)``, ``score = floor(raw * (0.5 +
    0.5 * confidence) + 0.5)``. The explanation lists (factor, value) in the
    spec's order: ``severity``; each penalty that applies, as a negative value
    (``ocr_substitutions``, ``wildcard``, ``country_unknown``); ``raw``;
    ``ocr_confidence``; ``score``.
    """
    explanation: list[tuple[str, float]] = [("severity", severity)]
    penalty = 0
    if substitutions:
        penalty += SUBSTITUTION_PENALTY * substitutions
        explanation.append(("ocr_substitutions", -SUBSTITUTION_PENALTY * substitutions))
    if match_kind == WILDCARD:
        penalty += WILDCARD_PENALTY
        explanation.append(("wildcard", -WILDCARD_PENALTY))
    if not country_known:
        penalty += UNKNOWN_COUNTRY_PENALTY
        explanation.append(("country_unknown", -UNKNOWN_COUNTRY_PENALTY))
    raw = min(max(severity - penalty, 0), 100)
    value = math.floor(raw * (0.5 + 0.5 * ocr_confidence) + 0.5)
    explanation += [("raw", raw), ("ocr_confidence", ocr_confidence), ("score", value)]
    return value, priority(value), tuple(explanation)
