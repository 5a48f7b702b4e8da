"""`feblam bench e2e`, small and fast: both jobs on the stack, every figure present and sane.

The backlog must last several of the quarter-second progress bins for the SQL join
too (it reads 40,000 reads in under a second here), or its rate cannot be measured."""

from __future__ import annotations

import json
import subprocess
import sys

from matplotlib.image import imread
from feblam.stack.settings import PROJECT_ROOT

FIELDS = ("reads_per_s", "hits_per_s", "p50_ms", "p99_ms", "rss_mb", "reference_entries", "parallelism",
          "baseline_reads_per_s", "baseline_hits_per_s", "baseline_p50_ms", "baseline_p99_ms", "baseline_rss_mb",
          "ratio")


def test_bench_e2e_prints_every_figure_and_writes_the_chart(stack, tmp_path):
    png = tmp_path / "e2e.png"
    # Each engine loses a taskmanager (restore_s): a few minutes in all.
    result = subprocess.run(
        [sys.executable, "-m", "feblam.cli", "bench", "e2e", "--json", "--quiet", "--entries", "3000",
         "--reads", "150000", "--rate", "1000", "--latency-seconds", "4", "--warmup-reads", "300",
         "--vehicles", "300", "--cameras", "40", "--parallelism", "1", "--timeout", "240", "--png", str(png),
         "--restore-seconds", "120", "--restore-rate", "200",
         "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.schema_registry_url,
         "--flink-rest-url", stack.flink_rest_url],
        capture_output=True, text=True, timeout=900, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    for name in FIELDS:
        assert figures.get(name) is not None, name
    assert figures["reference_entries"] == 3000 and figures["parallelism"] == 1
    # FEBLAM's job started from the lists' snapshot, taken once they were on Kafka.
    assert 0 < figures["snapshot_s"] < 60 and figures["ready_s"] > 0
    for prefix in ("", "baseline_"):
        assert figures[f"{prefix}reads_per_s"] > 100
        assert figures[f"{prefix}hits_per_s"] > 0
        assert 0 < figures[f"{prefix}p50_ms"] <= figures[f"{prefix}p99_ms"] < 60_000
        assert figures[f"{prefix}rss_mb"] > 100
        # A taskmanager the job ran in was killed: the job restarts, and a new one takes its place.
        assert 1 < figures[f"{prefix}restore_s"] < 120
        by_kind = figures[f"{prefix}rss_mb_by_kind"]
        assert set(by_kind) == {"jobmanager", "taskmanager"} and min(by_kind.values()) > 100
        assert sum(by_kind.values()) >= figures[f"{prefix}rss_mb"] * 0.99   # each kind's peak, at least the sum's share
        # Where the CPU went while the backlog was sent and consumed: the job's taskmanager
        # and the broker worked, and the parts add up to the machine's busy time.
        cores = figures[f"{prefix}cpu_cores_by_kind"]
        assert {"taskmanager", "jobmanager", "kafka", "benchmark", "other", "machine"} <= set(cores)
        assert cores["taskmanager"] > 0.05 and cores["kafka"] > 0 and cores["benchmark"] > 0
        assert cores["machine"] <= figures["cpus"] + 0.05
        parts = sum(v for k, v in cores.items() if k != "machine")
        assert cores["machine"] - 0.01 * len(cores) <= parts <= cores["machine"] * 1.1 + 0.1
        # The taskmanagers' share by thread: the steps' threads are there, and the threads
        # add up to at most what their processes used.
        threads = figures[f"{prefix}cpu_cores_by_thread"]
        assert threads and sum(threads.values()) <= cores["taskmanager"] + 0.01 * len(threads) + 0.05
        assert list(threads.values()) == sorted(threads.values(), reverse=True)
        if not prefix:
            assert threads.get("decode-and-matc", 0) > 0
    assert figures["ratio"] == round(figures["reads_per_s"] / figures["baseline_reads_per_s"], 3)
    assert imread(png).shape[:2] == (640, 900)   # height, width
