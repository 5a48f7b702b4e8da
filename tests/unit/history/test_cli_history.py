"""`feblam history` on a small history: the questions answer through the gate, refusals
exit 3 and are logged, the log is kept apart from the data, and `audit` reads and
verifies the log as an access of its own."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from feblam.cli import main
from history.accesslog import AccessLog

from .historydata import write_history

WHO = ["--user", "j.claes", "--unit", "PJF-ANTWERPEN", "--justification", "investigation AN.12.L3.004512/26"]
DPO = ["--user", "dpo.maes", "--unit", "DPO", "--justification", "monthly check of the access log"]


@pytest.fixture
def paths(tmp_path, monkeypatch):
    monkeypatch.delenv("FEBLAM_HISTORY", raising=False)
    root = write_history(tmp_path / "history", datetime.now(timezone.utc))
    log = tmp_path / "access" / "access.log"
    return ["--history", str(root), "--access-log", str(log)], log


def test_a_journey_as_a_table_then_as_json(paths, capsys):
    common, log = paths
    assert main(["history", "journey", "1-abc-123", *common, *WHO, "--purpose", "administrative"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("access 1: narrowed") and "last 30 days" in out and "(2 rows)" in out
    assert main(["history", "journey", "1ABC123", *common, *WHO, "--purpose", "JUDICIAL",
                 "--authorisation", "AN.12.L3.004512/26-PK-17", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["access_id"] == 3 and len(answer["rows"]) == 3
    assert answer["columns"][:2] == ["event_time", "camera_id"] and answer["rows"][0][0].endswith("Z")
    assert [r["kind"] for r in AccessLog(log).records()] == ["ACCESS", "RESULT", "ACCESS", "RESULT"]


def test_a_refused_question_exits_3_says_why_and_is_logged(paths, capsys):
    common, log = paths
    status = main(["history", "camera", "CAM-1", *common, *WHO, "--purpose", "JUDICIAL",
                   "--from", "2020-01-01", "--to", "2020-02-01"])
    assert status == 3
    assert "refused" in capsys.readouterr().err
    [access] = AccessLog(log).records()
    assert access["outcome"] == "REFUSED" and access["query"] == {"question": "camera", "camera_id": "CAM-1"}


def test_the_log_may_not_live_inside_the_history(paths, capsys):
    common, _ = paths
    inside = ["--history", common[1], "--access-log", f"{common[1]}/access.log"]
    assert main(["history", "first-seen", "1ABC123", *inside, *WHO, "--purpose", "JUDICIAL"]) == 2
    assert "inside the history" in capsys.readouterr().err


def test_hits_by_list_and_silent_cameras_as_csv(paths, capsys):
    common, _ = paths
    assert main(["history", "hits", "--by", "list", *common, *WHO, "--purpose", "JUDICIAL",
                 "--authorisation", "PK-17", "--csv"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["list,hits", "stolen_vehicles,2", "judicial_alerts,1"]
    assert captured.err.startswith("access 1:")
    assert main(["history", "cameras", "--silent-for", "36h", *common, *WHO, "--purpose", "ADMINISTRATIVE",
                 "--csv"]) == 0
    assert [line.split(",")[0] for line in capsys.readouterr().out.splitlines()] == ["camera_id", "CAM-4", "CAM-1"]
    assert main(["history", "hits", "--by", "list,colour", *common, *WHO, "--purpose", "JUDICIAL"]) == 2


def test_audit_show_and_verify_are_accesses_and_find_an_edit(paths, capsys):
    common, log = paths
    assert main(["history", "first-seen", "1ABC123", *common, *WHO, "--purpose", "ADMINISTRATIVE"]) == 0
    capsys.readouterr()
    assert main(["history", "audit", "show", "--access-log", str(log), *DPO]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) == 3 and "RESULT  of access 1: 1 row" in shown[1] and "audit show" in shown[2]
    assert main(["history", "audit", "verify", "--access-log", str(log), *DPO]) == 0
    head = capsys.readouterr().out.split("head ")[1].split()[0]
    lines = log.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["justification"] = "nothing to see here, honestly"
    log.write_text("\n".join([json.dumps(edited), *lines[1:]]) + "\n")
    assert main(["history", "audit", "verify", "--access-log", str(log), *DPO, "--expect-head", head]) == 1
    assert "line 1 (record 1): changed" in capsys.readouterr().out
    assert main(["history", "audit", "show", "--access-log", str(log), "--user", "x", "--unit", "DPO",
                 "--justification", "short"]) == 3


def test_purge_dry_run_then_purge(tmp_path, capsys):
    from .test_retention import hour

    root = tmp_path / "history"
    hour(root, "reads", "2020-01-01", 5)
    hour(root, "reads", "2026-12-01", 5)
    log = tmp_path / "access.log"
    common = ["history", "purge", "--history", str(root), "--access-log", str(log), *DPO[:4],
              "--justification", "monthly retention purge"]
    assert main([*common, "--dry-run"]) == 0
    assert "would remove reads/date=2020-01-01/hour=05: 3 rows" in capsys.readouterr().out
    assert (root / "reads" / "date=2020-01-01").is_dir()
    assert main([*common, "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["dry_run"], done["rows"], done["record"]) == (False, 3, 2)
    assert not (root / "reads" / "date=2020-01-01").exists() and (root / "reads" / "date=2026-12-01").is_dir()
    assert main([*common[:-1], "x"]) == 2


def test_convoy_options_reach_the_question(paths, capsys):
    common, _ = paths
    assert main(["history", "convoy", "1ABC123", *common, *WHO, "--purpose", "JUDICIAL", "-k", "1",
                 "--window", "1d", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["columns"] == ["plate", "cameras", "together", "by_chance", "beyond_chance"]
    assert main(["history", "convoy", "1ABC123", *common, *WHO, "--purpose", "JUDICIAL", "-k", "0"]) == 2
