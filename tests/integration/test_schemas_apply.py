"""`feblam schemas apply` against the real registry (and Kafka, to find reference topics):
a first run registers every contract and sets BACKWARD, a second reports nothing
changed, a dry run changes nothing, a subject whose rule already exists is
fine, and a contract the subject's versions make incompatible is reported as
such with a non-zero exit."""

from __future__ import annotations

import json
import uuid

from connectors.contracts import COMPATIBILITY, FEEDS, subject
from connectors.registry import RegistryClient
from feblam.cli import main


def _topics(run: str) -> dict[str, str]:
    return {f.name: f"apply-{run}.{f.default_topic}" for f in FEEDS}


def _apply(stack, capsys, run: str, *extra: str) -> tuple[int, str, str]:
    options = [arg for f in FEEDS for arg in (f.option, _topics(run)[f.name])]
    capsys.readouterr()
    status = main(["schemas", "apply", *options, "--reference-prefix", f"apply-{run}.ref.",
                   "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.schema_registry_url,
                   *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _lines(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line.startswith("apply-")}


def test_first_run_registers_second_reports_unchanged(stack, capsys):
    run = uuid.uuid4().hex[:8]
    registry = RegistryClient(stack.schema_registry_url)

    status, out, _ = _apply(stack, capsys, run, "--lists", "stolen,lez_vehicle_status", "--dry-run")
    assert status == 0, out
    assert all("would be a new subject" in line and "would be set to BACKWARD" in line
               for line in _lines(out).values()), out
    assert not [s for s in registry.subjects() if s.startswith(f"apply-{run}.")]  # a dry run changes nothing

    status, out, _ = _apply(stack, capsys, run, "--lists", "stolen,lez_vehicle_status")
    assert status == 0, out
    lines = _lines(out)
    assert len(lines) == len(FEEDS) + 2
    assert all(": new subject (id " in line and "compatibility set to BACKWARD" in line for line in lines.values()), out
    for topic in [*_topics(run).values(), f"apply-{run}.ref.stolen", f"apply-{run}.ref.lez_vehicle_status"]:
        assert registry.versions(subject(topic)) == [1]
        assert registry.compatibility(subject(topic)) == COMPATIBILITY
    assert f"apply-{run}.ref.stolen-value" in lines and "ReferenceEntry" in lines[f"apply-{run}.ref.stolen-value"]

    status, out, _ = _apply(stack, capsys, run, "--lists", "stolen,lez_vehicle_status", "--json")
    assert status == 0
    report = json.loads(out)
    assert report["ok"] and not report["dry_run"] and report["level"] == "BACKWARD"
    assert {s["schema"] for s in report["subjects"]} == {"unchanged"}
    assert {s["compatibility"] for s in report["subjects"]} == {"already"}
    assert all(isinstance(s["schema_id"], int) for s in report["subjects"])


def test_reference_topics_are_found_on_kafka_without_lists(stack, capsys, new_topic):
    run = uuid.uuid4().hex[:8]
    new_topic(name=f"apply-{run}.ref.judicial", config={"cleanup.policy": "compact"})
    status, out, _ = _apply(stack, capsys, run)
    assert status == 0, out
    assert f"apply-{run}.ref.judicial-value" in _lines(out)
    assert len(_lines(out)) == len(FEEDS) + 1


def test_a_subject_whose_rule_already_exists_is_fine(stack, capsys):
    run = uuid.uuid4().hex[:8]
    registry = RegistryClient(stack.schema_registry_url)
    hits, cameras = subject(_topics(run)["hits"]), subject(_topics(run)["cameras"])
    registry.set_compatibility(hits, "BACKWARD")  # set before, e.g. by an earlier FEBLAM or by hand
    registry.set_compatibility(cameras, "FULL")
    status, out, err = _apply(stack, capsys, run, "--lists", "")
    assert status == 0, out + err
    assert "Hit: new subject" in _lines(out)[hits] and "already BACKWARD" in _lines(out)[hits]
    assert "compatibility set to BACKWARD (was FULL)" in _lines(out)[cameras]
    assert registry.compatibility(cameras) == COMPATIBILITY


def test_an_incompatible_contract_is_reported_and_exits_non_zero(stack, capsys):
    """The subject already has a PlateRead without camera_id: FEBLAM's PlateRead requires
    it with no default, so it cannot read those records (BACKWARD says no)."""
    import schemas

    run = uuid.uuid4().hex[:8]
    registry = RegistryClient(stack.schema_registry_url)
    reads = subject(_topics(run)["reads"])
    older = {**schemas.load("PlateRead"),
             "fields": [f for f in schemas.load("PlateRead")["fields"] if f["name"] != "camera_id"]}
    registry.set_compatibility(reads, "BACKWARD")
    registry.register(reads, older)

    status, out, _ = _apply(stack, capsys, run, "--lists", "", "--dry-run")
    assert status == 1, out
    assert "PlateRead: INCOMPATIBLE" in _lines(out)[reads]

    status, out, _ = _apply(stack, capsys, run, "--lists", "")
    assert status == 1, out
    line = _lines(out)[reads]
    assert "PlateRead: INCOMPATIBLE, not registered" in line and "Incompatible" in line
    assert "1 INCOMPATIBLE" in out.splitlines()[-1]
    assert registry.versions(reads) == [1]  # nothing registered for it...
    others = [s for name, s in _lines(out).items() if name != reads]
    assert others and all(": new subject" in line for line in others)  # ...and the other feeds were applied


def test_an_unreachable_registry_is_one_line_and_exit_2(stack, capsys):
    run = uuid.uuid4().hex[:8]
    status, out, err = _apply(stack, capsys, run, "--lists", "", "--registry-url", "http://127.0.0.1:1/apis/ccompat/v7")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("feblam schemas: no schema registry answers at http://127.0.0.1:1")
    assert "scripts/stack up" in err and "--registry-url" in err
