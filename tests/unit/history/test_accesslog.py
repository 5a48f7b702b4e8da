"""The access log (history.accesslog): the chain, and each kind of tampering named."""

from __future__ import annotations

import json
import threading

import pytest

from history.accesslog import ACCESS, RESULT, AccessLog, AccessLogError


def filled(tmp_path, count: int = 5) -> AccessLog:
    log = AccessLog(tmp_path / "audit" / "access.log")
    for n in range(count):
        log.append(ACCESS, {"user": f"u{n}", "query": {"command": "journey", "plate": "1ABC123"}})
    return log


def lines(log: AccessLog) -> list[str]:
    return log.path.read_text().splitlines()


def rewrite(log: AccessLog, new_lines: list[str]) -> None:
    log.path.write_text("\n".join(new_lines) + "\n")


def test_records_are_numbered_and_chained_and_the_file_is_private(tmp_path):
    log = filled(tmp_path, 3)
    records = list(log.records())
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev"] == "0" * 64
    assert [r["prev"] for r in records[1:]] == [r["sha256"] for r in records[:-1]]
    verification = log.verify()
    assert verification.ok and verification.records == 3 and verification.head == records[-1]["sha256"]
    assert log.path.stat().st_mode & 0o777 == 0o600 and log.path.parent.stat().st_mode & 0o777 == 0o700


def test_an_edit_is_found_and_named(tmp_path):
    log = filled(tmp_path)
    edited = lines(log)
    record = json.loads(edited[2])
    record["user"] = "someone-else"
    edited[2] = json.dumps(record)
    rewrite(log, edited)
    problems = log.verify().problems
    assert [(p.seq, p.what.split(":")[0]) for p in problems] == [(3, "changed")]


def test_an_edit_with_its_hash_recomputed_breaks_the_next_records_link(tmp_path):
    from history.accesslog import _digest

    log = filled(tmp_path)
    edited = lines(log)
    record = json.loads(edited[2])
    record["user"] = "someone-else"
    record["sha256"] = _digest({k: v for k, v in record.items() if k != "sha256"})
    edited[2] = json.dumps(record)
    rewrite(log, edited)
    [problem] = log.verify().problems
    assert problem.seq == 4 and "record before it was changed" in problem.what


def test_a_removed_record_is_found_and_named(tmp_path):
    log = filled(tmp_path)
    rewrite(log, [line for n, line in enumerate(lines(log)) if n != 1])
    [problem] = log.verify().problems
    assert str(problem) == "line 2 (record 2): removed: no record 2 in the log"


def test_reordered_records_are_found(tmp_path):
    log = filled(tmp_path)
    swapped = lines(log)
    swapped[1], swapped[3] = swapped[3], swapped[1]
    rewrite(log, swapped)
    whats = [p.what for p in log.verify().problems]
    assert "out of order: record 3 after record 4" in whats and "out of order: record 2 after record 3" in whats
    assert not [w for w in whats if w.startswith(("removed", "changed"))], whats


def test_records_cut_from_the_end_are_found_against_a_noted_head(tmp_path):
    log = filled(tmp_path)
    head = log.verify().head
    rewrite(log, lines(log)[:-2])
    assert log.verify().ok                      # the chain alone cannot tell
    [problem] = log.verify(expect_head=head).problems
    assert "no record is the head" in problem.what and head in problem.what


def test_a_noted_head_stays_valid_as_the_log_grows(tmp_path):
    log = filled(tmp_path)
    head = log.verify().head
    log.append(ACCESS, {"user": "later"})
    assert log.verify(expect_head=head).ok and log.verify().head != head


def test_a_log_whose_last_line_is_not_a_record_takes_no_more_accesses(tmp_path):
    log = filled(tmp_path, 2)
    with open(log.path, "a") as handle:
        handle.write("garbage\n")
    with pytest.raises(AccessLogError, match="cannot append"):
        log.append(ACCESS, {"user": "u"})
    assert [str(p) for p in log.verify().problems] == ["line 3 (record ?): not a JSON record"]


def test_concurrent_writers_keep_one_chain(tmp_path):
    log = AccessLog(tmp_path / "access.log")

    def write(n: int) -> None:
        for i in range(25):
            AccessLog(log.path).append(RESULT, {"access": n * 100 + i, "rows": i})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verification = log.verify()
    assert verification.ok and verification.records == 100


def test_an_unwritable_log_refuses_the_access(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(AccessLogError, match="cannot open the access log"):
        AccessLog(blocker / "access.log").append(ACCESS, {"user": "u"})
