"""Background entries: the bulk of each reference list, about vehicles that do
not drive past a camera during the run.

Everything about background entry ``j`` of a list is derived from
``(seed, list, j)`` (``feblam.simulate.seeding``), so a list of millions is
streamed in constant memory and a later update of entry ``j`` regenerates the
same plate. Plates within one list and format are distinct (an index
permutation), and never equal a plate of the fleet, so background entries
never hit a simulated vehicle by accident (an OCR misread still may, as in life).
"""

from __future__ import annotations

from feblam.simulate.plates import Plate, PlateFormat, format_at
from feblam.simulate.seeding import IndexPermutation, key64, mix64

# Country mix of the plates each list is about.
COUNTRY_MIX = {
    "lez_vehicle_status": (("BE", 0.92), ("NL", 0.03), ("FR", 0.03), ("DE", 0.015),
                           ("LU", 0.005)),
    "lez_permits": (("BE", 0.6), ("NL", 0.15), ("FR", 0.15), ("DE", 0.07), ("LU", 0.03)),
    "stolen_vehicles": (("BE", 0.8), ("NL", 0.06), ("FR", 0.08), ("DE", 0.04), ("LU", 0.02)),
    "judicial_alerts": (("BE", 0.85), ("NL", 0.05), ("FR", 0.06), ("DE", 0.03), ("LU", 0.01)),
    "insurance_expired": (("BE", 1.0),),
}


class EntryBits:
    """64 random bits of one entry, handed out a field at a time."""

    __slots__ = ("bits",)

    def __init__(self, bits: int):
        self.bits = bits

    def take(self, n: int) -> int:
        """A number in ``range(n)``, consuming the bits it needs."""
        self.bits, value = divmod(self.bits, n)
        return value

    def fraction(self, resolution: int = 10_000) -> float:
        return self.take(resolution) / resolution


class BackgroundPlates:
    """Index-addressed plates of one list, never equal to a plate of the fleet."""

    def __init__(self, seed: int, list_name: str, avoid: frozenset[str]):
        self.seed = seed
        self.list_name = list_name
        self.avoid = avoid
        self.key = key64(seed, f"background:{list_name}")
        self.mix = COUNTRY_MIX.get(list_name, COUNTRY_MIX["stolen_vehicles"])
        self._perms: dict[str, IndexPermutation] = {}

    def bits(self, j: int) -> EntryBits:
        """The random bits of entry ``j`` (the plate uses a separate draw)."""
        return EntryBits(mix64(self.key ^ mix64(j)))

    def _country(self, fraction: float) -> str:
        total = 0.0
        for country, share in self.mix:
            total += share
            if fraction < total:
                return country
        return self.mix[-1][0]

    def _perm(self, fmt: PlateFormat) -> IndexPermutation:
        perm = self._perms.get(fmt.name)
        if perm is None:
            perm = IndexPermutation(fmt.size, key64(self.seed, f"plates:{self.list_name}:{fmt.name}"))
            self._perms[fmt.name] = perm
        return perm

    def plate(self, j: int) -> Plate:
        """The plate of background entry ``j``."""
        bits = EntryBits(mix64(self.key + 0x5BD1E995 * (j + 1)))
        country = self._country(bits.fraction())
        fmt = format_at(country, bits.fraction())
        perm = self._perm(fmt)
        attempt = 0
        while True:
            plate = fmt.plate(perm(j + attempt * (fmt.size // 7 + 1)))
            if plate.canon not in self.avoid:
                return plate
            attempt += 1
