"""`feblam bench history` on a small history: it generates, compacts and asks through the
gate, and its figures are those of real answers."""

from __future__ import annotations

from feblam.bench.history import run


def test_a_small_run_reports_every_question_and_logs_every_access(tmp_path):
    result = run(reads=30_000, days=2, cameras=50, plates=5, windows=3, convoys=2, entries=100,
                 workdir=tmp_path, keep=True)
    assert result["compaction"]["rows"] == 30_000 + 150          # the reads and one hit in 200
    assert result["compaction"]["days"] == 2
    assert result["journey"]["count"] == 5 and result["journey"]["rows_median"] >= 1
    assert result["camera_window"]["count"] == 3 and result["convoy"]["count"] == 2
    retro = result["retro_hit_pass"]
    assert retro["entries"] == 100 and retro["hits"] >= 40 and retro["candidate_reads"] >= retro["hits"]
    # Every question went through the gate: an ACCESS and a RESULT record each (the
    # retro-hit pass asks two: the candidate reads, the entries' earlier hits).
    assert result["access_log_records"] == 2 * (5 + 3 + 2 + 2)
    assert (tmp_path / "history" / "compacted" / "reads").is_dir()


def test_the_generated_history_is_removed_unless_kept(tmp_path):
    (tmp_path / "mine.txt").write_text("not the benchmark's")
    run(reads=2_000, days=1, cameras=10, plates=1, windows=1, convoys=1, entries=10, workdir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_a_history_it_did_not_write_is_never_overwritten(tmp_path):
    import pytest

    (tmp_path / "history" / "reads").mkdir(parents=True)
    with pytest.raises(ValueError, match="not written by this benchmark"):
        run(reads=2_000, days=1, cameras=10, plates=1, windows=1, convoys=1, entries=10, workdir=tmp_path)
    assert (tmp_path / "history" / "reads").is_dir()
