"""The LEZ decision for one zone (spec §5), on the entries already found.

The index finds, for a read, the active and country-compatible entries of the
two LEZ lists whose plate equals the read exactly; this module decides.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from udfs.model import LEZ_NOT_ADMITTED, LEZ_UNREGISTERED


class StatusFound(NamedTuple):
    """An active, compatible ``lez_vehicle_status`` entry equal to the read."""

    entry_id: str
    zone: str | None
    admitted: bool
    severity: int | None


class LezVerdict(NamedTuple):
    kind: str                  # LEZ_NOT_ADMITTED or LEZ_UNREGISTERED
    status: StatusFound | None  # the deciding entry; None for LEZ_UNREGISTERED


UNREGISTERED = LezVerdict(LEZ_UNREGISTERED, None)  # one shared verdict: it has no entry


def decide(zone: str, statuses: Sequence[StatusFound],
           permit_zones: Sequence[str | None]) -> LezVerdict | None:
    """Spec §5 for zone ``zone``: the verdict, or ``None`` for no hit.

    1. an active permit for the zone (or a permit with no zone, valid in every
       zone) means no hit;
    2. else the deciding entry is the status entry for ``zone`` if there is one,
       otherwise the one with no zone, the smallest ``entry_id`` among several;
       ``admitted = false`` gives LEZ_NOT_ADMITTED with that entry, any other
       value no hit. A status entry for another zone says nothing about
       ``zone`` and never decides;
    3. else (no deciding entry: unknown to ``zone``, even when known to another
       zone) LEZ_UNREGISTERED: enforcement fails closed.
    """
    if zone in permit_zones or None in permit_zones:
        return None
    deciding = min((s for s in statuses if s.zone == zone), default=None,
                   key=lambda s: s.entry_id)
    if deciding is None:
        deciding = min((s for s in statuses if s.zone is None), default=None,
                       key=lambda s: s.entry_id)
    if deciding is None:
        return UNREGISTERED
    return None if deciding.admitted else LezVerdict(LEZ_NOT_ADMITTED, deciding)


def is_admitted(attributes) -> bool:
    """Spec §5: a status entry admits unless ``attributes.admitted`` is ``"false"``.

    The comparison ignores case and surrounding blanks; a missing or other
    value admits (the spec raises a hit only on ``"false"``).
    """
    value = attributes.get("admitted") if attributes else None
    return not (isinstance(value, str) and value.strip().lower() == "false")
