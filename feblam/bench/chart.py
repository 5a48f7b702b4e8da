"""The chart of `feblam bench e2e`, drawn with matplotlib.

Two panels on one 900 x 640 px figure, one series per engine in each:
throughput over time on the backlog (top) and the read-to-hit latency
distribution as a cumulative curve (bottom).

The figure is built with matplotlib's object API (`matplotlib.figure.Figure`),
not pyplot: no global figure registry, no display, and PNG output goes through
the Agg renderer whatever backend the process has selected, so a benchmark run
on a headless machine or from a thread cannot open a window or leak figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from feblam.bench.stats import percentile

# The engines' names in `feblam bench e2e`'s results, as a reader knows them.
LABELS = {"feblam": "FEBLAM", "baseline": "SQL join baseline"}
COLOURS = {"feblam": "#c82828", "baseline": "#285ac8"}
# 900 x 640 px: the size docs/benchmarks.md's image and the e2e integration test expect.
SIZE_INCHES, DPI = (9.0, 6.4), 100
# The latency axis stops at the largest p99.5, so one engine's tail does not flatten the other's curve.
LATENCY_AXIS_PERCENTILE = 99.5


def label(engine: str) -> str:
    """The legend's name of an engine; an unknown engine keeps its own name."""
    return LABELS.get(engine, engine)


def build_chart(engines: Mapping[str, Mapping]) -> Figure:
    """The figure for `engines`: name -> {"throughput": [(s, reads/s), ...],
    "latencies_ms": [ms, ...]}, as `feblam bench e2e` collects them.

    Each panel has one labelled line per engine, in the order of `engines`, even
    when an engine has no points (its legend entry then says so), so the legend
    always names every engine that ran."""
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    throughput, latency = figure.subplots(2, 1)
    figure.suptitle("feblam bench e2e: " + " vs ".join(label(name) for name in engines))

    for name, data in engines.items():
        points = list(data.get("throughput") or [])
        throughput.plot([x for x, _ in points], [y for _, y in points], color=COLOURS.get(name), linewidth=1.5,
                        label=label(name) if points else f"{label(name)} (no samples)")
    throughput.set_title("Throughput on the backlog")
    throughput.set_xlabel("time since the first read (s)")
    throughput.set_ylabel("throughput (reads/s)")
    throughput.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    throughput.set_xlim(left=0)
    throughput.set_ylim(bottom=0)

    tails = []
    for name, data in engines.items():
        ordered = sorted(data.get("latencies_ms") or [])
        n = len(ordered)
        latency.plot(ordered, [100.0 * (i + 1) / n for i in range(n)], color=COLOURS.get(name), linewidth=1.5,
                     drawstyle="steps-post", label=f"{label(name)} ({n:,} reads)" if n else f"{label(name)} (no samples)")
        if n:
            tails.append(percentile(ordered, LATENCY_AXIS_PERCENTILE))
    latency.set_title(f"Read-to-hit latency, cumulative (axis cut at p{LATENCY_AXIS_PERCENTILE:g})")
    latency.set_xlabel("latency from read to hit (ms)")
    latency.set_ylabel("reads at or below (%)")
    latency.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    latency.set_xlim(0, max(tails, default=0.0) or 1.0)
    latency.set_ylim(0, 100)

    for axes in (throughput, latency):
        axes.grid(True, color="#e1e1e1")
    throughput.legend(loc="best")
    latency.legend(loc="lower right")  # a cumulative curve leaves that corner empty
    return figure


def write_chart(path: Path, engines: Mapping[str, Mapping]) -> Figure:
    """Write the chart of `engines` (see `build_chart`) to `path` as a PNG, creating
    its directory; returns the figure. The file appears whole or not at all: it is
    written beside `path` and renamed."""
    figure = build_chart(engines)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    figure.savefig(tmp, format="png")
    tmp.replace(path)
    return figure
