"""What the console shows of a card, as JSON for the page and the API (pure).

`summary(card, places)` is a card in the list: enough to sort, colour and act on
it; `detail(card, places)` adds its sightings and history. Both put into words
what a dispatcher must not have to decode:

- `explanation`: the score's factors (hit-semantics §6) as a sentence, e.g.
  "Severity 95 (judicial_alerts), less 10 for 1 OCR substitution; weighted by OCR
  confidence 0.92: score 91, P1";
- `instruction`: the entry's instructions (its `instructions` attribute, free text)
  with their kind, one of INTERCEPT, DO_NOT_STOP and INFORMATION_ONLY: the
  entry's `action` attribute when it has one, else read from the text ("do not
  stop", "do not intercept" and "discreet" mean DO_NOT_STOP; "intercept", "stop"
  and "arrest" mean INTERCEPT; anything else is INFORMATION_ONLY);
- `last_seen`: where and when the vehicle was last seen, the latest sighting or
  else the hit's own read, with the place in words (police zone, province) and
  the camera's position when the camera registry has it.

Times stay epoch milliseconds (UTC): the page shows them in the browser's zone
and counts ages and the escalation countdown itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from console.board import Card

INSTRUCTION_KINDS = ("INTERCEPT", "DO_NOT_STOP", "INFORMATION_ONLY")
_DO_NOT_STOP = re.compile(r"\bdo not (stop|intercept)\b|\bdiscreet", re.IGNORECASE)
_INTERCEPT = re.compile(r"\b(intercept|stop|arrest)", re.IGNORECASE)
_PENALTY_WORDS = {"ocr_substitutions": "OCR substitution", "wildcard": "a wildcard match",
                  "country_unknown": "an unknown country"}


def instruction(attributes: Mapping[str, str]) -> dict[str, str | None]:
    """The entry's instructions and their kind (see the module)."""
    text = attributes.get("instructions") or None
    kind = (attributes.get("action") or "").upper().replace(" ", "_").replace("-", "_")
    if kind not in INSTRUCTION_KINDS:
        kind = "INFORMATION_ONLY" if not text else "DO_NOT_STOP" if _DO_NOT_STOP.search(text) \
            else "INTERCEPT" if _INTERCEPT.search(text) else "INFORMATION_ONLY"
    return {"kind": kind, "text": text}


def explanation(hit: Mapping[str, Any]) -> str:
    """The score's factors in words, in the order of hit-semantics §6."""
    factors = {f["factor"]: f["value"] for f in hit.get("explanation") or []}
    parts = [f"Severity {_number(factors.get('severity', 0))} ({hit.get('list_name')})"]
    for factor, words in _PENALTY_WORDS.items():
        value = factors.get(factor)
        if value:
            if factor == "ocr_substitutions":
                count = hit.get("substitutions") or 0
                words = f"{count} {words}{'s' if count != 1 else ''}"
            parts.append(f"less {_number(-value)} for {words}")
    confidence = factors.get("ocr_confidence", hit.get("ocr_confidence"))
    sentence = ", ".join(parts)
    if confidence is not None:
        sentence += f"; weighted by OCR confidence {confidence:.2f}"
    return f"{sentence}: score {hit.get('score')}, {hit.get('priority')}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def place(police_zone: str | None, province: str | None) -> str:
    """A place in words; an unknown camera (a mobile unit) has none."""
    known = [p for p in (police_zone, province) if p]
    return ", ".join(known) if known else "unknown place (camera not in the registry)"


def last_seen(card: Card, cameras: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The latest sighting, else the hit's own read, with its place."""
    if card.sightings:
        seen = card.sightings[0]
        return {"camera_id": seen["camera_id"], "at": seen["event_time"], "place": place(seen.get("police_zone"),
                seen.get("province")), "lat": seen.get("lat"), "lon": seen.get("lon"), "sighting": True}
    camera = cameras.get(card.hit["camera_id"], {})
    return {"camera_id": card.hit["camera_id"], "at": card.hit["event_time"],
            "place": place(card.labels.get("police_zone"), card.labels.get("province")),
            "lat": camera.get("lat"), "lon": camera.get("lon"), "sighting": False}


def summary(card: Card, cameras: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A card in the list (see the module)."""
    hit = card.hit
    return {
        "delivery_id": card.delivery_id, "hit_id": card.hit_id, "destination": card.destination,
        "state": card.state, "open": card.open, "priority": hit.get("priority"), "score": hit.get("score"),
        "list_name": hit.get("list_name"), "match_kind": hit.get("match_kind"), "plate": hit.get("plate_text"),
        "country": hit.get("country"), "retro": bool(hit.get("retro")), "covert": card.covert,
        "delivered_at": card.delivered_at, "ack_deadline": card.ack_deadline if card.state == "NEW" else None,
        "escalated_from": card.escalated_from, "taken_by": card.taken_by,
        "explanation": explanation(hit), "instruction": instruction(hit.get("attributes") or {}),
        "last_seen": last_seen(card, cameras), "sightings": len(card.sightings),
        "case_ref": (hit.get("attributes") or {}).get("case_ref"),
    }


def detail(card: Card, cameras: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A card with its sightings (latest first) and its history (oldest first)."""
    return {**summary(card, cameras), "read_id": card.hit.get("read_id"), "event_time": card.hit.get("event_time"),
            "camera_id": card.hit.get("camera_id"), "entry_id": card.hit.get("entry_id"), "route": card.route,
            "ocr_confidence": card.hit.get("ocr_confidence"),
            "sightings_list": [{**s, "place": place(s.get("police_zone"), s.get("province"))} for s in card.sightings],
            "history": list(card.history)}
