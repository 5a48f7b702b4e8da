"""`feblam reference`: the help explains a load; status reads the history."""

from __future__ import annotations

from connectors.reference import history
from feblam.cli import build_parser, main


def test_load_help_explains_mapping_checks_outcomes_and_exit_statuses():
    text = build_parser()._subparsers._group_actions[0].choices["reference"]._subparsers \
        ._group_actions[0].choices["load"].format_help()
    for needed in ("--mapping", "row_count_change", "tombstones", "summary.json", "quarantine",
                   "report.html", "Exit status 1", "exit 2", "wildcards", "admitted", "--dry-run"):
        assert needed in text, needed


def test_status_shows_entries_last_load_and_last_refusal_with_reasons(tmp_path, capsys):
    path = tmp_path / "h.json"
    history.record_load(path, "stolen_vehicles", {"at": "2026-03-01T06:00:00Z", "file": "a.csv",
                                                  "topic": "ref.stolen_vehicles", "entries": 12,
                                                  "upserts": 12, "deletes": 0, "report": "r1"})
    history.record_refusal(path, "stolen_vehicles", {"at": "2026-03-02T06:00:00Z", "file": "b.csv",
                                                     "reasons": ["'id' is unique: rows 4, 5"], "report": "r2"})
    history.record_refusal(path, "lez_permits", {"at": "2026-03-02T07:00:00Z", "file": "p.csv",
                                                 "reasons": ["required column 'zone' (zone) is present"],
                                                 "report": "r3"})
    assert main(["reference", "status", "--history", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "lez_permits: never loaded"
    assert out[1] == "  last load:    none"
    assert "stolen_vehicles: 12 entries" in out
    assert "  last load:    2026-03-01T06:00:00Z a.csv -> ref.stolen_vehicles: 12 upserts, 0 deletes" in out
    assert "  last refusal: 2026-03-02T06:00:00Z b.csv (report r2)" in out
    assert "    - 'id' is unique: rows 4, 5" in out


def test_status_without_history_says_so(tmp_path, capsys):
    assert main(["reference", "status", "--history", str(tmp_path / "none.json")]) == 0
    assert "no reference load recorded" in capsys.readouterr().out


def test_reports_and_history_default_to_the_var_dir_not_the_working_directory(tmp_path, monkeypatch):
    var_dir = tmp_path / "var"
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(var_dir))
    monkeypatch.chdir(tmp_path.parent)
    load = build_parser().parse_args(["reference", "load", "--list", "stolen_vehicles", "export.csv"])
    assert load.reports == var_dir.resolve() / "reference" / "reports"
    assert load.history == var_dir.resolve() / "reference" / "history.json"
    status = build_parser().parse_args(["reference", "status"])
    assert status.history == load.history
