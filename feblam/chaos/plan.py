"""What a chaos run does and when: its settings, and the faults drawn from its seed.

Pure: no stack, no clock. The same seed gives the same reads and the same faults
at the same offsets, so a run that found a problem can be run again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum


class FaultKind(str, Enum):
    TASKMANAGER_KILL = "taskmanager-kill"   # kill -9 of one taskmanager's JVM
    JOBMANAGER_KILL = "jobmanager-kill"     # kill -9 of the jobmanager's JVM
    BROKER_RESTART = "broker-restart"       # the Kafka broker stopped and started again
    REGISTRY_RESTART = "registry-restart"   # kill -9 of the registry, then started again


@dataclass(frozen=True)
class ChaosSettings:
    """One run. `rate` reads per second are sent for `reads / rate` seconds, and the
    faults fall at random offsets within that, at least `min_gap_s` apart; one in
    `hit_every` reads matches a stolen-vehicle entry."""

    reads: int = 200_000
    faults: int = 4
    rate: float = 10_000.0
    kinds: tuple[FaultKind, ...] = tuple(FaultKind)
    seed: int = 11
    hit_every: int = 20
    min_gap_s: float = 15.0
    settle_s: float = 600.0     # after the last read is sent: how long outputs may take to be complete
    gateway: bool = True        # the Hit Gateway delivers the run's hits, under the same faults

    def __post_init__(self) -> None:
        if self.reads < self.hit_every or self.hit_every < 1:
            raise ValueError(f"reads must be at least hit_every ({self.hit_every}), got {self.reads}")
        if self.faults < 0:
            raise ValueError(f"faults must be 0 or more, got {self.faults}")
        if not self.rate > 0:
            raise ValueError(f"rate must be positive, got {self.rate}")
        if not self.kinds:
            raise ValueError("at least one kind of fault is needed")

    @property
    def feed_s(self) -> float:
        return self.reads / self.rate

    def hits_expected(self) -> int:
        return len(range(0, self.reads, self.hit_every))


@dataclass(frozen=True)
class Fault:
    at_s: float          # seconds after the first read was sent
    kind: FaultKind
    target: int = 0      # which taskmanager (1-based) for TASKMANAGER_KILL; 0 otherwise


def plan_faults(settings: ChaosSettings, taskmanagers: int) -> list[Fault]:
    """`settings.faults` faults in time order. Kinds go round the shuffled list of
    `settings.kinds`, so every kind comes once before any comes twice; offsets are
    uniform over the feed, then pushed apart to `min_gap_s` (the run lasts longer
    than the feed when they do not fit in it)."""
    rng = random.Random(settings.seed)
    kinds = list(settings.kinds)
    rng.shuffle(kinds)
    offsets = sorted(rng.uniform(0.05, 0.95) * settings.feed_s for _ in range(settings.faults))
    faults = []
    last = None
    for n, offset in enumerate(offsets):
        at = offset if last is None else max(offset, last + settings.min_gap_s)
        kind = kinds[n % len(kinds)]
        target = rng.randint(1, taskmanagers) if kind is FaultKind.TASKMANAGER_KILL else 0
        faults.append(Fault(round(at, 3), kind, target))
        last = at
    return faults


def read_id(run: str, i: int) -> str:
    return f"{run}-{i:09d}"


def plate(i: int, settings: ChaosSettings) -> str:
    """Every read a plate of its own, so no two reads de-duplicate or look like a
    clone; the plates of every `hit_every`-th read are on the stolen list."""
    return f"{'H' if i % settings.hit_every == 0 else 'N'}{i:08d}"
