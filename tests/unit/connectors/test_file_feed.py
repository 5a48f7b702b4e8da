"""The reference files as the match step sees them (connectors.files.FileFeed): their
ends (spec §8 on files) and their lines again after a restore."""

from __future__ import annotations

from connectors.files import FileFeed


def test_ends_count_every_line_blank_ones_included(tmp_path):
    (tmp_path / "ref.jsonl").write_text('{"a": 1}\n\n{"b": 2}\n')
    (tmp_path / "cams.jsonl").write_text("")
    ends = FileFeed({"reference": tmp_path / "ref.jsonl", "cameras": tmp_path / "cams.jsonl"}).ends()
    assert ends.ends == {("reference", 0): 4, ("cameras", 0): 1}
    assert not ends.reached({("reference", 0): 2}) and ends.reached({("reference", 0): 3})


def test_replay_gives_the_lines_up_to_the_checkpointed_one(tmp_path):
    (tmp_path / "ref.jsonl").write_text('one\r\ntwo\nthree\n')
    feed = FileFeed({"reference": tmp_path / "ref.jsonl"})
    assert list(feed.replay({("reference", 0): 2})) == [("reference", 0, 1, None, b"one"),
                                                       ("reference", 0, 2, None, b"two")]
    # From a snapshot's position: only the lines after it.
    assert list(feed.replay({("reference", 0): 3}, since={("reference", 0): 1})) == \
        [("reference", 0, 2, None, b"two"), ("reference", 0, 3, None, b"three")]
    assert list(feed.replay({("reference", 0): 3}, since={("reference", 0): 3})) == []
