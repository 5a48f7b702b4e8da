"""The file mode's outputs merged from the job's part files (connectors.file_outputs):
file order across parallel part files, sightings counted into their hits, and a
broken order refused loudly. Pure, no Flink."""

from __future__ import annotations

import json


from connectors.file_outputs import write_outputs


def _part(work, output, name, records):
    folder = work / output
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(f"{order}\t{json.dumps(record)}\n" for order, record in records))


def _hit(hit_id, list_name="stolen_vehicles", entry_id="S1", zone=None):
    return {"hit_id": hit_id, "list_name": list_name, "entry_id": entry_id, "zone": zone, "match_kind": "EXACT",
            "priority": "P2", "sightings": 1}


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_parallel_part_files_merge_into_file_order(tmp_path):
    work = tmp_path / "work"
    _part(work, "hits", "part-a-0-0", [(1, _hit("h1")), (9, _hit("h9"))])
    _part(work, "hits", "part-b-1-0", [(4, _hit("h4", entry_id="S4"))])
    _part(work, "hits", "part-b-1-1", [(12, _hit("h12", entry_id="S4"))])
    # One read, two hits on two subtasks: the engine's order (list, entry, zone) decides.
    _part(work, "hits", "part-c-0-1", [(15, _hit("h15b", "stolen_vehicles", "S6"))])
    _part(work, "hits", "part-d-1-2", [(15, _hit("h15a", "judicial_alerts", "J4"))])
    counts = write_outputs(work, tmp_path / "hits.jsonl", tmp_path / "dead.jsonl")
    assert [h["hit_id"] for h in _lines(tmp_path / "hits.jsonl")] == ["h1", "h4", "h9", "h12", "h15a", "h15b"]
    assert counts.hits == 6 and (tmp_path / "dead.jsonl").read_text() == ""


def test_each_hit_carries_the_count_of_its_last_sighting(tmp_path):
    work = tmp_path / "work"
    _part(work, "hits", "part-0", [(1, _hit("h1")), (2, _hit("h2", entry_id="S2"))])
    _part(work, "sightings", "part-0", [(3, {"hit_id": "h1", "read_id": "R3", "sightings": 2}),
                                        (5, {"hit_id": "h1", "read_id": "R5", "sightings": 3})])
    counts = write_outputs(work, tmp_path / "hits.jsonl", tmp_path / "dead.jsonl", tmp_path / "sightings.jsonl")
    assert {h["hit_id"]: h["sightings"] for h in _lines(tmp_path / "hits.jsonl")} == {"h1": 3, "h2": 1}
    assert [s["read_id"] for s in _lines(tmp_path / "sightings.jsonl")] == ["R3", "R5"]
    assert counts.sightings == 2


def test_refusals_are_ordered_by_source_and_line(tmp_path):
    work = tmp_path / "work"
    _part(work, "refusals", "part-0", [(3, {"source": "reference", "reason": "BAD_WILDCARD"}),
                                       (8, {"source": "reference", "reason": "MALFORMED"})])
    _part(work, "refusals", "part-1", [(2, {"source": "cameras", "reason": "BAD_CAMERA"})])
    counts = write_outputs(work, tmp_path / "h", tmp_path / "d", refusals=tmp_path / "refusals.jsonl")
    assert [r["reason"] for r in _lines(tmp_path / "refusals.jsonl")] == ["BAD_CAMERA", "BAD_WILDCARD", "MALFORMED"]
    assert counts.refusals_by_reason == {"BAD_CAMERA": 1, "BAD_WILDCARD": 1, "MALFORMED": 1}


def test_in_progress_files_are_not_read(tmp_path):
    work = tmp_path / "work"
    _part(work, "hits", ".part-0.inprogress", [(1, _hit("h1"))])
    assert write_outputs(work, tmp_path / "h", tmp_path / "d").hits == 0


def test_a_part_file_out_of_order_is_merged_in_input_order(tmp_path):
    """De-duplication takes candidates from two steps at once: its part files interleave them."""
    work = tmp_path / "work"
    _part(work, "dead_letters", "part-0", [(5, {"reason": "MALFORMED", "read_id": "a"}),
                                           (2, {"reason": "MALFORMED", "read_id": "b"}),
                                           (7, {"reason": "MALFORMED", "read_id": "c"})])
    _part(work, "dead_letters", "part-1", [(3, {"reason": "MALFORMED", "read_id": "d"})])
    write_outputs(work, tmp_path / "h", tmp_path / "d")
    assert [d["read_id"] for d in _lines(tmp_path / "d")] == ["b", "d", "a", "c"]
