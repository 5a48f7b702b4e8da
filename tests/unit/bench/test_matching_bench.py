"""The matching benchmark runs end to end on a tiny index (not a timed test)."""

import argparse
import json

from feblam.commands import bench
from feblam.bench.matching import run


def test_bench_matching_reports_the_required_figures():
    result = run(3000, reads=300, seed=1, passes=1)
    for key in ("entries", "build_s", "reads_per_s", "bytes_per_entry"):
        assert key in result
    assert result["entries"] == 3000 and result["refused_entries"] == 0
    assert result["hits"]["reads_with_hits"] > 0
    json.dumps(result)


def test_bench_command_registers_matching_with_its_options(capsys):
    parser = argparse.ArgumentParser(prog="feblam")
    bench.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "matching", "--entries", "2000", "--reads", "100",
                              "--seed", "3", "--passes", "1", "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["entries"] == 2000 and out["seed"] == 3
    args = parser.parse_args(["bench"])
    assert args.func(args) == 2
