"""`feblam bench clones`, small: every read takes part and is held, and the figures add up."""

from __future__ import annotations

import json
import subprocess
import sys

from feblam.stack.settings import PROJECT_ROOT


def test_bench_clones_reports_the_state_per_read():
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "bench", "clones", "--reads", "5000", "--plates",
                             "1000", "--cameras", "50", "--passes", "1", "--json"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["reads_held"] == 5000 and 0 < figures["plates_held"] <= 1000
    assert 100 < figures["bytes_per_held_read"] < 2000       # a slotted record, its read_id, a heap entry
    assert figures["observe_us_per_read"] > 0 and figures["suspects"] > 0
    # 50 M reads a day over a 6 h window is 12.5 M reads held.
    assert abs(figures["state_gb_at_50m_reads_a_day"] - figures["bytes_per_held_read"] * 12.5e6 / 1e9) < 0.02


def test_bench_clones_refuses_an_empty_run():
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "bench", "clones", "--reads", "0"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "must be positive" in result.stderr
