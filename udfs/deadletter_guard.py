"""The dead-letter share guard: when most reads are dead letters, that is an incident,
not data (a producer writing with the wrong schema, a registry that forgot its ids).

Contract of `DeadLetterGuard` (one per match subtask, fed by that subtask's reads):
- Reads are counted in windows of at least `min_reads` reads. A window closes at
  the end of the batch (`count`) that brings it to `min_reads` or more, and is
  judged then: it is an incident when its dead letters are more than `max_share`
  of its reads. A window under `min_reads` is never judged, so a handful of bad
  reads at a quiet hour is data, whatever its share.
- `count` returns the `Incident` of a window that tripped (or `None`), and starts
  the next window either way. An incident says how many reads and dead letters,
  and how many of each reason; it never holds a read, so its message may be logged.
- `holding` says whether the caller should keep the batch's dead letters back
  (in its checkpointed state) instead of writing them. It is true only in a
  `restarted` guard with `fail_job`, while its open window's dead letters are more
  than `max_share` of its reads: a job that restarted because the guard tripped
  meets the same reads again, and so does not write their dead letters again;
  they wait until the window closes healthy or the share falls under `max_share`.
  A first attempt writes as it goes (at most one window of an incident's dead
  letters), since holding there would keep the dead letters of a quiet input
  waiting for `min_reads` reads.
- `fail_job` is the caller's to act on: true, an incident fails the job; false,
  it is reported (metric, log line) and the dead letters go out as usual.

No clock: windows are counted in reads, so the rule is the same at any rate and
in replays, and is tested without time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_MAX_SHARE = 0.5
DEFAULT_MIN_READS = 1000


@dataclass(frozen=True, slots=True)
class DeadLetterGuardSettings:
    """`dead_letter_guard:` of the job's configuration (`udfs.config`)."""

    max_share: float = DEFAULT_MAX_SHARE   # a window whose share of dead letters exceeds it is an incident
    min_reads: int = DEFAULT_MIN_READS     # reads a window needs before it is judged
    fail_job: bool = True                  # an incident fails the job (false: reported only)


@dataclass(frozen=True, slots=True)
class Incident:
    """A window whose dead-letter share tripped the guard."""

    reads: int
    dead_letters: int
    by_reason: Mapping[str, int] = field(default_factory=dict)
    max_share: float = DEFAULT_MAX_SHARE

    @property
    def share(self) -> float:
        return self.dead_letters / self.reads

    def message(self) -> str:
        """One line for an operator: counts and reasons only, never a read's content."""
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.by_reason.items()))
        return (f"dead-letter share {self.share:.0%} over the last {self.reads} reads exceeds "
                f"{self.max_share:.0%}: {self.dead_letters} dead letters ({reasons})")


class DeadLetterGuard:
    """The rule above over one stream of reads; see the module's contract."""

    def __init__(self, settings: DeadLetterGuardSettings, restarted: bool = False):
        self.settings = settings
        self.restarted = restarted
        self._reads = 0
        self._dead = 0
        self._reasons: dict[str, int] = {}

    @property
    def holding(self) -> bool:
        """Keep the dead letters back now (see the module's contract)."""
        return self.restarted and self.settings.fail_job and self._dead > self.settings.max_share * self._reads

    def count(self, reads: int, dead_letters: Mapping[str, int]) -> Incident | None:
        """Add one batch: `reads` records taken (the dead letters among them) and its
        dead letters by reason. The window's incident when this batch closed a window
        that tripped; `None` otherwise."""
        self._reads += reads
        for reason, n in dead_letters.items():
            self._dead += n
            self._reasons[reason] = self._reasons.get(reason, 0) + n
        if self._reads < self.settings.min_reads:
            return None
        incident = None
        if self._dead > self.settings.max_share * self._reads:
            incident = Incident(self._reads, self._dead, dict(self._reasons), self.settings.max_share)
        self._reads, self._dead, self._reasons = 0, 0, {}
        return incident


class DeadLetterIncident(RuntimeError):
    """Raised by the match step to fail the job when the guard trips with `fail_job`;
    its message is the incident's (counts and reasons, no read)."""
