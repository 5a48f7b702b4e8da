import statistics

import pytest

from feblam.bench import stats


def test_percentile_interpolates_between_order_statistics():
    values = [5, 1, 4, 2, 3]
    assert stats.percentile(values, 0) == 1
    assert stats.percentile(values, 50) == 3
    assert stats.percentile(values, 100) == 5
    assert stats.percentile(values, 25) == 2
    assert stats.percentile([1, 2], 99) == pytest.approx(1.99)
    assert stats.percentile([], 50) is None
    with pytest.raises(ValueError):
        stats.percentile([1], 101)
    with pytest.raises(ValueError):
        stats.percentile([1], -0.1)


def test_percentile_is_linear_not_nearest_rank():
    # Nearest rank would give 3 (an observed value) and 50; linear interpolation does not.
    assert stats.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert stats.percentile([10, 20, 30, 40, 50], 90) == pytest.approx(46.0)
    assert stats.percentile([0, 100], 99) == pytest.approx(99.0)


def test_percentile_takes_fractional_q():
    values = list(range(1, 1001))
    assert stats.percentile(values, 99.9) == pytest.approx(999.001)
    assert stats.percentile(values, 99.95) == pytest.approx(999.5005)


def test_percentile_agrees_with_the_standard_librarys_inclusive_quantiles():
    values = [3.2, 11.0, 0.4, 7.7, 7.7, 19.5, 2.0, 5.1, 14.9]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    assert [stats.percentile(values, q) for q in range(1, 100)] == pytest.approx(cuts)


def test_progress_takes_the_median_read_of_each_bin():
    observations = [(1000, 10), (1100, 500), (1200, 20), (2000, 30)]
    assert stats.progress(observations, bin_ms=1000) == [(1.0, 20), (2.0, 30)]


def test_steady_rate_measures_between_ten_and_ninety_percent_of_the_backlog():
    # 10 s of start-up with nothing, then 1,000 reads/s for 100 s.
    observations = [(10_000 + t * 1000, t * 1000) for t in range(101)]
    curve = stats.progress(observations, bin_ms=1000)
    assert stats.steady_rate(curve, 100_000) == pytest.approx(1000.0)
    assert stats.crossing(curve, 10_000) == pytest.approx(20.0)


def test_steady_rate_is_none_when_the_backlog_was_not_passed():
    curve = [(0.0, 0.0), (1.0, 100.0)]
    assert stats.steady_rate(curve, 1000) is None


def test_rate_series_never_goes_negative():
    series = stats.rate_series([(0.0, 0.0), (1.0, 100.0), (2.0, 90.0), (3.0, 300.0)])
    assert series == [(1.0, 100.0), (2.0, 0.0), (3.0, 200.0)]


def test_count_series_keeps_empty_bins():
    assert stats.count_series([0, 100, 2500], bin_ms=1000) == [(0.0, 2.0), (1.0, 0.0), (2.0, 1.0)]


def test_latency_summary_shape():
    summary = stats.latency_summary([10, 20, 30, 40])
    assert set(summary) == {"p50_ms", "p99_ms", "max_ms", "latency_samples"}
    assert summary["p50_ms"] == 25.0 and summary["max_ms"] == 40 and summary["latency_samples"] == 4
    assert stats.latency_summary([])["p99_ms"] is None
