"""`feblam simulate` on the command line: options, files, summary, progress."""

from __future__ import annotations

import io
import json

import pytest

from feblam.cli import main
from feblam.simulate.progress import Progress

SMALL_ARGS = ["--reads", "600", "--cameras", "30", "--vehicles", "120", "--lez-entries", "500",
              "--hours", "6", "--seed", "3"]


def test_simulate_writes_the_three_files_and_prints_a_json_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", "--out", str(out), *SMALL_ARGS]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["reads"] == 600 and summary["cameras"] == 30
    for name, key in (("cameras.jsonl", "cameras"), ("reference.jsonl", "reference_updates"),
                      ("reads.jsonl", "reads")):
        assert len((out / name).read_text(encoding="utf-8").splitlines()) == summary[key]
    assert summary["reference_by_list"]["lez_vehicle_status"] >= 500


def test_help_explains_every_option_and_file(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in ("--out", "--reads", "--cameras", "--vehicles", "--lez-entries", "--start",
                 "--hours", "--seed", "--invalid-rate", "--quiet", "cameras.jsonl",
                 "reference.jsonl", "reads.jsonl", "lez_vehicle_status"):
        assert word in text, word


@pytest.mark.parametrize("args, message", [
    (["--cameras", "5"], "at least 12 cameras"),
    (["--vehicles", "10"], "at least"),
    (["--start", "yesterday"], "instant"),
])
def test_bad_settings_are_refused_with_a_reason(tmp_path, capsys, args, message):
    assert main(["simulate", "--out", str(tmp_path / "x"), "--quiet", *args]) == 2
    assert message in capsys.readouterr().err
    out = tmp_path / "x"
    assert not out.exists() or not list(out.iterdir())  # no file, not even a temporary one


@pytest.mark.parametrize("args", [["--invalid-rate", "0.9"], ["--reads", "0"], ["--hours", "-1"]])
def test_bad_values_are_refused_by_the_parser(tmp_path, args):
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--out", str(tmp_path), *args])
    assert exit_info.value.code == 2


def test_progress_reports_rows_and_rate_every_interval():
    now = [0.0]

    def clock() -> float:
        now[0] += 1.5
        return now[0]

    stream = io.StringIO()
    progress = Progress(stream=stream, interval=2.0, clock=clock)
    for n in range(1, 5001):
        progress.tick("reads.jsonl", n)
    lines = stream.getvalue().splitlines()
    # The clock is read every 1000 rows (1.5 s apart here): a line every other read.
    assert len(lines) == 2, lines
    assert lines[0].startswith("simulate: reads.jsonl: 2,000 rows") and "rows/s" in lines[0]
    quiet = Progress(stream=None, clock=clock)
    for n in range(5000):
        quiet.tick("reads.jsonl", n)  # nothing to print to, nothing fails


def test_out_or_kafka_one_of_them(tmp_path, capsys):
    assert main(["simulate", "--quiet", *SMALL_ARGS]) == 2
    assert main(["simulate", "--out", str(tmp_path / "x"), "--kafka", "--quiet", *SMALL_ARGS]) == 2
    assert "either --out DIR or --kafka" in capsys.readouterr().err
