"""The chart of `feblam bench e2e`: a PNG that decodes, both engines named, every axis labelled."""

import matplotlib.image

from feblam.bench.chart import build_chart, write_chart

ENGINES = {
    "feblam": {"throughput": [(0.25, 18_000.0), (0.5, 21_000.0), (0.75, 20_500.0)],
               "latencies_ms": [100.0, 150.0, 180.0, 900.0]},
    "baseline": {"throughput": [(0.25, 40_000.0), (0.5, 38_000.0)], "latencies_ms": [40.0, 55.0]},
}


def _series(axes) -> list[str]:
    return [line.get_label() for line in axes.get_lines() if not line.get_label().startswith("_")]


def test_chart_is_a_png_that_decodes_at_its_size(tmp_path):
    path = tmp_path / "chart" / "e2e.png"
    write_chart(path, ENGINES)
    assert path.is_file() and not path.with_name("e2e.png.tmp").exists()
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (640, 900)   # height, width
    # Not a blank image: lines and text were drawn.
    assert pixels.min() < 0.5


def test_each_panel_has_one_labelled_series_per_engine_and_labelled_axes():
    figure = build_chart(ENGINES)
    assert figure.get_suptitle()
    panels = figure.get_axes()
    assert len(panels) == 2
    for axes in panels:
        series = _series(axes)
        assert len(series) == 2
        assert series[0].startswith("FEBLAM") and series[1].startswith("SQL join baseline")
        assert [text.get_text() for text in axes.get_legend().get_texts()] == series
        assert axes.get_xlabel() and axes.get_ylabel() and axes.get_title()
        assert "(" in axes.get_xlabel() and "(" in axes.get_ylabel()  # units
    throughput, latency = panels
    assert list(throughput.get_lines()[1].get_ydata()) == [40_000.0, 38_000.0]
    assert list(latency.get_lines()[0].get_ydata()) == [25.0, 50.0, 75.0, 100.0]


def test_an_engine_without_samples_is_still_in_the_legend(tmp_path):
    figure = write_chart(tmp_path / "e2e.png", {**ENGINES, "baseline": {"throughput": [], "latencies_ms": []}})
    for axes in figure.get_axes():
        assert _series(axes)[1] == "SQL join baseline (no samples)"
    assert matplotlib.image.imread(tmp_path / "e2e.png").shape[:2] == (640, 900)
