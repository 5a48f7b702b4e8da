"""One simulated run: settings, the generators of its three streams, and ``run``.

Same settings (``seed`` included) give the same records in the same order,
byte for byte: nothing depends on the clock, the machine or ``PYTHONHASHSEED``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

from feblam.simulate.fleet import Fleet, build_fleet
from feblam.simulate.lists import ListSizes, ReferenceLists, ReferenceUpdate
from feblam.simulate.network import Network, build_network
from feblam.simulate.progress import Progress
from feblam.simulate.rhythm import DailyRhythm
from feblam.simulate.traffic import CLONE_ENCOUNTERS, SimulatedRead, Traffic
from feblam.simulate.writer import Sink
from udfs.instant import parse_instant
from udfs.normalise import canon

HOUR = 3_600_000
MAX_LEZ_ENTRIES = 10_000_000


@dataclass(frozen=True)
class SimulationSettings:
    """What to simulate. Defaults are the small demo run."""

    reads: int = 10_000
    cameras: int = 240
    vehicles: int = 3_000
    lez_entries: int = 20_000
    start: str = "2026-03-02T00:00:00Z"
    hours: float = 24.0
    seed: int = 1
    invalid_rate: float = 0.005

    def __post_init__(self) -> None:
        for name in ("reads", "cameras", "vehicles", "lez_entries"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lez_entries > MAX_LEZ_ENTRIES:
            raise ValueError(f"lez_entries at most {MAX_LEZ_ENTRIES:,}, got {self.lez_entries:,}")
        if not self.hours > 0:
            raise ValueError(f"hours must be positive, got {self.hours}")
        if not 0.0 <= self.invalid_rate <= 0.5:
            raise ValueError(f"invalid_rate must be in [0, 0.5], got {self.invalid_rate}")
        parse_instant(self.start)  # BadInstant (a ValueError) when it is not an instant

    @property
    def start_ms(self) -> int:
        return parse_instant(self.start)

    @property
    def end_ms(self) -> int:
        return self.start_ms + int(self.hours * HOUR)


@dataclass
class Simulation:
    """The world of one run; each stream is a fresh generator on every call."""

    settings: SimulationSettings
    network: Network = field(init=False)
    fleet: Fleet = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.network = build_network(s.seed, s.cameras)
        self.fleet = build_fleet(s.seed, s.vehicles)

    def cameras(self) -> Iterator[dict]:
        """The camera registry: registered cameras only (mobile units are not in it)."""
        for camera in self.network.cameras:
            if camera.registered:
                yield camera.record()

    def reference(self) -> Iterator[ReferenceUpdate]:
        s = self.settings
        lists = ReferenceLists(s.seed, self.fleet, ListSizes.for_lez(s.lez_entries),
                               s.start_ms, s.end_ms)
        return lists.updates()

    def reads(self) -> Iterator[SimulatedRead]:
        s = self.settings
        traffic = Traffic(s.seed, self.network, self.fleet, DailyRhythm(s.start_ms, s.end_ms),
                          s.reads, s.invalid_rate)
        return traffic.reads()

    def cloned_plates(self) -> list[str]:
        """The canonical text (``udfs.normalise.canon`` of the plate as displayed) of
        every plate two vehicles carry, sorted: the ground truth of the clone rule."""
        return sorted({canon(self.fleet.vehicles[original].plate.display())
                       for original, _ in self.fleet.clone_pairs})

    def clone_encounters(self) -> int:
        """How many encounters (both vehicles of a pair driving at once) are scheduled."""
        return len(self.fleet.clone_pairs) * len(CLONE_ENCOUNTERS)


def run(settings: SimulationSettings, sink: Sink, progress: Progress | None = None) -> dict:
    """Generate the run into ``sink``; returns the summary (counts per stream, and the
    ground truth of the clone rule: ``cloned_plates``, ``clone_encounters``)."""
    progress = progress or Progress(stream=None)
    summary: dict = {"cameras": 0, "reference_updates": 0, "reads": 0}
    by_list: Counter = Counter()
    ops: Counter = Counter()
    invalid: Counter = Counter()
    during_run = 0
    try:
        simulation = Simulation(settings)
        for record in simulation.cameras():
            sink.add("cameras", record)
            summary["cameras"] += 1
            progress.tick("cameras.jsonl", summary["cameras"])
        for update in simulation.reference():
            sink.add("reference", update.record)
            summary["reference_updates"] += 1
            by_list[update.record["list_name"]] += 1
            ops[update.record["op"]] += 1
            during_run += update.arrival_ms is not None
            progress.tick("reference.jsonl", summary["reference_updates"])
        for read in simulation.reads():
            sink.add("reads", read.record)
            summary["reads"] += 1
            if read.invalid:
                invalid[read.invalid] += 1
            progress.tick("reads.jsonl", summary["reads"])
    except BaseException:
        sink.abort()
        raise
    sink.close()
    summary.update({
        "mobile_units": sum(1 for c in simulation.network.cameras if not c.registered),
        "lez_cameras": sum(1 for c in simulation.network.cameras if c.lez_zones),
        "vehicles": len(simulation.fleet.vehicles),
        "reference_by_list": dict(sorted(by_list.items())),
        "reference_deletes": ops["DELETE"],
        "reference_updates_during_run": during_run,
        "invalid_reads": sum(invalid.values()),
        "invalid_by_reason": dict(sorted(invalid.items())),
        "cloned_plates": simulation.cloned_plates(),
        "clone_encounters": simulation.clone_encounters(),
        "seed": settings.seed,
    })
    return summary
