"""`feblam gateway` commands that need no services: config check, routes test, report."""

from __future__ import annotations

import json

from feblam.cli import main


def test_config_check_accepts_the_sample_and_refuses_a_bad_file_with_its_lines(tmp_path, capsys):
    assert main(["gateway", "config", "check", "flink-conf/gateway.yaml"]) == 0
    assert "is valid: 21 destinations, national centre cic-national" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("national: nat\ndestinations: {nat: {}}\nroute:\n  destination: nowhere\n")
    try:
        main(["gateway", "config", "check", str(bad)])
        raise AssertionError("a bad configuration was accepted")
    except SystemExit as stop:
        assert stop.code == 2
    assert f"{bad}:4: root.destination: unknown destination 'nowhere'; known: nat" in capsys.readouterr().err


def test_routes_test_says_where_a_hit_goes(tmp_path, capsys):
    cameras = tmp_path / "cameras.jsonl"
    cameras.write_text(json.dumps({"camera_id": "CAM-9", "province": "Liège", "police_zone": "ZP Liège"}) + "\n")
    hit = json.dumps({"list_name": "judicial_alerts", "priority": "P1", "camera_id": "CAM-9",
                      "attributes": {"owner": "sirene"}})
    assert main(["gateway", "routes", "test", "--hit", hit, "--cameras", str(cameras), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [d["destination"] for d in out["destinations"]] == ["sirene", "cic-lie"]
    assert out["labels"]["province"] == "Liège"
    assert main(["gateway", "routes", "test", "--hit", hit, "--cameras", str(cameras)]) == 0
    assert "-> cic-lie by root.5.8: escalates after 60 s to cic-national" in capsys.readouterr().out


def test_report_without_an_audit_is_a_one_line_error(tmp_path, capsys):
    assert main(["gateway", "report", "--audit", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"gateway report: no audit under {tmp_path} (the gateway's --audit root)"
