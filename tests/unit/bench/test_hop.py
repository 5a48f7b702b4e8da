"""`feblam connectors measure` (feblam.bench.hop) without Kafka: its figures use the
benchmarks' one percentile, and a measured read that never arrives fails the run."""

from __future__ import annotations

import threading

import pytest

from feblam.bench import hop
from feblam.bench.hop import HopSettings, _summary


def test_the_summary_uses_linear_percentiles():
    summary = _summary([10.0, 20.0, 30.0, 40.0])
    assert (summary["p50"], summary["p90"], summary["p99"]) == (25.0, 37.0, 39.7)
    assert (summary["n"], summary["max"], summary["mean"]) == (4, 40.0, 25.0)
    assert _summary([]) == {"n": 0}


class _Producer:
    def produce(self, topic, **options):
        pass

    def poll(self, timeout):
        return 0

    def flush(self, timeout):
        return 0


class _Receiver:
    """Receives the warm-up reads and none of the measured ones."""

    def __init__(self, bootstrap, topic):
        self.arrived = {f"R{i}": 0.0 for i in range(hop.WARM_UP)}
        self.done = threading.Event()

    def start(self):
        pass

    def join(self, timeout):
        pass


def test_reads_that_do_not_arrive_fail_the_phase_instead_of_shrinking_it(monkeypatch):
    monkeypatch.setattr(hop, "_Receiver", _Receiver)
    values = [(f"R{i}", b"v") for i in range(hop.WARM_UP + 3)]
    settings = HopSettings("unused", "unused", payloads=3, rate=1e6, timeout_s=0.1)
    with pytest.raises(RuntimeError, match="3 of the 3 measured reads did not reach reads within 0.1 s"):
        hop._run_phase(settings, _Producer(), "vendor", "reads", values)
