"""The daily rhythm of traffic: how many vehicles are on the road, hour by hour.

Weights are per local (Europe/Brussels) hour: a night trough, morning and
evening rush hours on weekdays, a flatter and later day at weekends.
``DailyRhythm.at(u)`` maps a fraction ``u`` of the run's traffic to the
instant by which that fraction has passed (the inverse of the cumulative
traffic), so trips spaced evenly in ``u`` follow the rhythm in time.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
HOUR = 3_600_000

WEEKDAY = (0.15, 0.10, 0.08, 0.08, 0.12, 0.35, 0.90, 1.60, 1.70, 1.20, 1.00, 1.00,
           1.05, 1.00, 1.00, 1.20, 1.60, 1.75, 1.30, 0.85, 0.60, 0.50, 0.40, 0.25)
WEEKEND = (0.25, 0.18, 0.12, 0.10, 0.08, 0.12, 0.25, 0.40, 0.60, 0.85, 1.00, 1.10,
           1.10, 1.05, 1.05, 1.05, 1.05, 1.00, 0.90, 0.75, 0.60, 0.50, 0.45, 0.35)
NIGHT_HOURS = frozenset((22, 23, 0, 1, 2, 3, 4, 5))


def local_hour(ms: int) -> tuple[int, int]:
    """(weekday 0=Monday, hour) of ``ms`` in Europe/Brussels."""
    local = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(BRUSSELS)
    return local.weekday(), local.hour


def weight(ms: int) -> float:
    day, hour = local_hour(ms)
    return (WEEKEND if day >= 5 else WEEKDAY)[hour]


class DailyRhythm:
    """Traffic intensity over ``[start_ms, end_ms)``, piecewise constant per hour."""

    def __init__(self, start_ms: int, end_ms: int):
        if end_ms <= start_ms:
            raise ValueError("the run must last longer than zero")
        self.start_ms, self.end_ms = start_ms, end_ms
        self.bounds = [start_ms]
        edge = start_ms - start_ms % HOUR + HOUR
        while edge < end_ms:
            self.bounds.append(edge)
            edge += HOUR
        self.bounds.append(end_ms)
        self.cumulative = [0.0]
        for a, b in zip(self.bounds, self.bounds[1:]):
            self.cumulative.append(self.cumulative[-1] + weight(a) * (b - a))
        self._night: dict[int, bool] = {}

    def at(self, u: float) -> int:
        """The instant by which fraction ``u`` (0..1) of the run's traffic has passed."""
        target = min(max(u, 0.0), 1.0) * self.cumulative[-1]
        i = min(bisect.bisect_right(self.cumulative, target) - 1, len(self.bounds) - 2)
        span = self.cumulative[i + 1] - self.cumulative[i]
        share = (target - self.cumulative[i]) / span if span else 0.0
        return int(self.bounds[i] + share * (self.bounds[i + 1] - self.bounds[i]))

    def is_night(self, ms: int) -> bool:
        """Dark hours (22:00-06:00 local), when OCR errs more often."""
        key = ms // HOUR
        night = self._night.get(key)
        if night is None:
            night = self._night[key] = local_hour(ms)[1] in NIGHT_HOURS
        return night
