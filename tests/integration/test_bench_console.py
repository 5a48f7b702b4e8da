"""`feblam bench console` on the stack, small: the page showed every hit offered, every
action made under the load was confirmed, and the figures are in order."""

from __future__ import annotations

import json
import subprocess
import sys

from feblam.stack.settings import PROJECT_ROOT


def test_bench_console_measures_new_hits_and_actions_in_the_browser(stack):
    result = subprocess.run([sys.executable, "-m", "feblam.cli", "bench", "console", "--open-deliveries", "300",
                             "--rate", "20", "--seconds", "8", "--json", "--quiet"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["new_hits_offered"] == figures["new_hits_shown"] == 160
    assert 0 <= figures["new_hit_p50_ms"] <= figures["new_hit_p99_ms"] <= figures["new_hit_max_ms"]
    assert figures["actions"] >= 3 and figures["actions_confirmed"] == figures["actions"]
    assert 0 < figures["action_p50_ms"] <= figures["action_p99_ms"] <= figures["action_max_ms"]
    assert figures["targets"] == {"new_hit_p99_ms": 500, "action_p99_ms": 300}
