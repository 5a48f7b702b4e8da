"""Same settings, same bytes; another seed, other bytes."""

from __future__ import annotations

from dataclasses import replace

from feblam.simulate.simulation import run
from feblam.simulate.writer import FILES, FileSink
from tests.unit.simulate.conftest import SMALL


def _bytes(out) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in FILES.values()}


def test_same_seed_gives_identical_files(small_run, tmp_path):
    again = tmp_path / "again"
    summary = run(SMALL, FileSink(again))
    assert summary == small_run.summary
    assert _bytes(again) == _bytes(small_run.out)


def test_another_seed_gives_other_files(small_run, tmp_path):
    other = tmp_path / "other"
    run(replace(SMALL, seed=SMALL.seed + 1), FileSink(other))
    theirs, ours = _bytes(other), _bytes(small_run.out)
    for name in FILES.values():
        assert theirs[name] != ours[name], name


def test_files_are_replaced_whole_and_no_temporary_file_is_left(small_run):
    leftovers = sorted(p.name for p in small_run.out.iterdir() if p.name.endswith(".tmp"))
    assert leftovers == []
