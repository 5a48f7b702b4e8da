"""Reads that the job must send to the dead letters, one kind for each way of spec §3.

``corrupt(rng, record, variant)`` takes a valid read and breaks exactly one
thing, so the first check of ``udfs.validation.validate_read`` that fails is
the intended one. It returns the payload (a dict, or the raw text of a line
that is not JSON) and the dead-letter reason the job must give.
"""

from __future__ import annotations

import json
import random

from udfs.normalise import MAX_PLATE_LENGTH, canon
from udfs.validation import BAD_CONFIDENCE, BAD_TIMESTAMP, EMPTY_PLATE, MALFORMED, PLATE_TOO_LONG

# (variant, reason), in the order invalid reads cycle through them.
VARIANTS = (
    ("truncated_line", MALFORMED),    # a line cut short in transit: not JSON
    ("missing_field", MALFORMED),     # a vendor dropped a required field
    ("bad_timestamp", BAD_TIMESTAMP),
    ("empty_plate", EMPTY_PLATE),
    ("plate_too_long", PLATE_TOO_LONG),
    ("bad_confidence", BAD_CONFIDENCE),
)

_LONG_TEXTS = ("TRANSPORT VERHEYEN NV", "GEBR. DE CLERCQ BVBA", "www.autohandel-peeters.be",
               "DEMENAGEMENTS DUBOIS SPRL", "BOULANGERIE 0475 12 34 56")


def corrupt(rng: random.Random, record: dict, variant: int) -> tuple[dict | str, str]:
    """Break ``record`` (a valid read, not modified) the way ``VARIANTS[variant]`` says."""
    name, reason = VARIANTS[variant % len(VARIANTS)]
    broken = dict(record)
    if name == "truncated_line":
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        return text[: rng.randint(len(text) // 3, len(text) - 2)], reason
    if name == "missing_field":
        field = rng.choice(("camera_id", "plate_text", "read_id"))
        if rng.random() < 0.5:
            del broken[field]
        else:
            broken[field] = None
    elif name == "bad_timestamp":
        style = rng.randrange(5)
        if style == 0:
            del broken["event_time"]
        else:
            broken["event_time"] = ("2026-03-02 08:15:07", "02/03/2026 08:15:07",
                                    "2026-02-30T08:15:07.120Z", "")[style - 1]
    elif name == "empty_plate":
        broken["plate_text"] = rng.choice(("", " ", "-", "--", "?", "·"))
    elif name == "plate_too_long":
        doubled = f"{record['plate_text']} {record['plate_text']}"
        broken["plate_text"] = doubled if len(canon(doubled)) > MAX_PLATE_LENGTH \
            and rng.random() < 0.5 else rng.choice(_LONG_TEXTS)
    else:
        style = rng.randrange(5)
        if style == 0:
            del broken["ocr_confidence"]
        else:
            percent = round(100 * record["ocr_confidence"], 1)  # a vendor sending percent
            broken["ocr_confidence"] = (None, percent if percent > 1.5 else 87.0, 1.37,
                                        -0.05)[style - 1]
    return broken, reason
