"""The chart of `feblam bench e2e`: throughput over time (top) and the read-to-hit
latency distribution as a cumulative curve (bottom), one colour per engine."""

from __future__ import annotations

from pathlib import Path

from feblam.bench.png import Canvas

COLOURS = {"feblam": (200, 40, 40), "baseline": (40, 90, 200)}
AXIS = (60, 60, 60)
GRID = (225, 225, 225)
WIDTH, HEIGHT = 900, 640


def _nice(value: float) -> float:
    """A round number at least `value` (1, 2, 5 x 10^k)."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:g}"


def _panel(canvas: Canvas, top: int, bottom: int, title: str, x_name: str, x_max: float, y_max: float,
           series: dict[str, list[tuple[float, float]]]) -> None:
    left, right = 90, WIDTH - 30
    canvas.text(left, top - 24, title, scale=3)
    for i in range(5):
        y = bottom - (bottom - top) * i // 4
        canvas.line(left, y, right, y, GRID)
        canvas.text(8, y - 5, _label(y_max * i / 4))
    for i in range(5):
        x = left + (right - left) * i // 4
        canvas.text(x - 10, bottom + 8, _label(x_max * i / 4))
    canvas.text(right - 8 * len(x_name), bottom + 24, x_name)
    canvas.line(left, top, left, bottom, AXIS, 2)
    canvas.line(left, bottom, right, bottom, AXIS, 2)
    for name, points in series.items():
        previous = None
        for x, y in points:
            px = left + int((right - left) * min(x / x_max, 1.0))
            py = bottom - int((bottom - top) * min(y / y_max, 1.0))
            if previous is not None:
                canvas.line(previous[0], previous[1], px, py, COLOURS.get(name, AXIS), 2)
            previous = (px, py)


def write_chart(path: Path, engines: dict[str, dict]) -> None:
    """`engines`: name -> {"throughput": [(s, reads/s)], "latencies_ms": [ms, ...]}."""
    canvas = Canvas(WIDTH, HEIGHT)
    throughput = {name: data["throughput"] for name, data in engines.items()}
    x_max = _nice(max((x for points in throughput.values() for x, _ in points), default=1.0))
    y_max = _nice(max((y for points in throughput.values() for _, y in points), default=1.0))
    _panel(canvas, 50, 280, "READS/S OVER TIME (BACKLOG)", "SECONDS", x_max, y_max, throughput)

    cdf = {}
    for name, data in engines.items():
        ordered = sorted(data["latencies_ms"])
        n = len(ordered)
        cdf[name] = [(value, 100.0 * (i + 1) / n) for i, value in enumerate(ordered)] if n else []
    # The x axis stops at the largest p99, so the tail of one engine does not flatten the other.
    from feblam.bench.stats import percentile

    tails = [percentile(sorted(d["latencies_ms"]), 99.5) for d in engines.values() if d["latencies_ms"]]
    _panel(canvas, 370, 580, "LATENCY CDF (% OF READS)", "MS", _nice(max(tails, default=1.0)), 100.0, cdf)

    x = 520
    for name in engines:
        canvas.rect(x, 8, x + 24, 20, COLOURS.get(name, AXIS))
        canvas.text(x + 32, 9, name)
        x += 32 + 8 * len(name) + 30
    canvas.save(path)
