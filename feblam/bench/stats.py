"""Figures from what a benchmark run observed; pure functions, no I/O.

Throughput is read off the job's output: every output record names the read
that caused it, and the broker stamps it (LogAppendTime) when the job writes it.
The reads were loaded before the job started and are numbered in the order they
were produced, so the read numbers seen in second t tell how far the job got by
t. ``progress`` takes the median read number of each second (robust to the few
records that come out of order across partitions); ``steady_rate`` measures the
slope between the seconds the job passed 10 % and 90 % of the backlog, which
leaves out start-up (submission, loading the lists) and the tail.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile of `values`, q in 0..100 (fractions too: 99.9); None for no
    values. Every benchmark's percentiles are this one definition: numpy's default,
    linear interpolation between order statistics (rank (n - 1) * q / 100, as
    `statistics.quantiles(..., method="inclusive")` and most tools take it), so that
    figures from different benchmarks compare."""
    if not len(values):
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    import numpy  # only when a figure is computed: the CLI imports this module to build its help

    return float(numpy.percentile(values, q))


def progress(observations: Iterable[tuple[int, int]], bin_ms: int = 250) -> list[tuple[float, float]]:
    """(time_ms, read_number) observations to (bin start in s, median read number of
    the bin), bins in time order, empty bins left out."""
    bins: dict[int, list[int]] = defaultdict(list)
    for time_ms, number in observations:
        bins[time_ms // bin_ms].append(number)
    return [(b * bin_ms / 1000.0, percentile(numbers, 50)) for b, numbers in sorted(bins.items())]


def crossing(curve: Sequence[tuple[float, float]], level: float) -> float | None:
    """The first time the curve reaches `level`, interpolated linearly; None if never."""
    previous = None
    for t, value in curve:
        if value >= level:
            if previous is None or previous[1] >= level:
                return t
            t0, v0 = previous
            return t0 + (t - t0) * (level - v0) / (value - v0)
        previous = (t, value)
    return None


def steady_rate(curve: Sequence[tuple[float, float]], backlog: int, low: float = 0.1,
                high: float = 0.9) -> float | None:
    """Reads per second between the times the progress curve passed `low` and `high`
    of `backlog`; None when it never got there or did so within one bin."""
    t_low = crossing(curve, low * backlog)
    t_high = crossing(curve, high * backlog)
    if t_low is None or t_high is None or t_high <= t_low:
        return None
    return (high - low) * backlog / (t_high - t_low)


def rate_series(curve: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Reads per second over time: the slope of the progress curve between bins
    (never negative), timed from the curve's first bin."""
    if not curve:
        return []
    start = curve[0][0]
    series = []
    best = curve[0][1]
    for (t0, _), (t1, v1) in zip(curve, curve[1:]):
        slope = max(v1 - best, 0.0) / (t1 - t0)
        best = max(best, v1)
        series.append((t1 - start, slope))
    return series


def count_series(times_ms: Iterable[int], bin_ms: int = 1000) -> list[tuple[float, int]]:
    """Events per bin over time, zero bins included, timed from the first event."""
    times = sorted(times_ms)
    if not times:
        return []
    start = times[0] // bin_ms
    counts = [0] * (times[-1] // bin_ms - start + 1)
    for t in times:
        counts[t // bin_ms - start] += 1
    return [(i * bin_ms / 1000.0, c * 1000 / bin_ms) for i, c in enumerate(counts)]


def latency_summary(latencies_ms: Sequence[float]) -> dict:
    """p50, p99, max and count of read-to-hit latencies, in milliseconds."""
    def rounded(value):
        return None if value is None else round(value, 1)

    return {"p50_ms": rounded(percentile(latencies_ms, 50)), "p99_ms": rounded(percentile(latencies_ms, 99)),
            "max_ms": rounded(max(latencies_ms) if latencies_ms else None), "latency_samples": len(latencies_ms)}
