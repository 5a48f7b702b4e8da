import pytest

from feblam.bench.e2e import E2eSettings, EngineRun, Reads, figures, lez_entries_for
from feblam.simulate.lists import ListSizes


def test_lez_entries_give_about_the_total_asked_for():
    for total in (5_000, 1_000_000):
        sizes = ListSizes.for_lez(lez_entries_for(total))
        got = (sizes.lez_vehicle_status + sizes.lez_permits + sizes.stolen_vehicles + sizes.judicial_alerts
               + sizes.insurance_expired)
        assert total <= got <= total * 1.01 + 10


def test_settings_refuse_what_cannot_run():
    with pytest.raises(ValueError):
        E2eSettings(engines=("feblam", "spark"))
    with pytest.raises(ValueError):
        E2eSettings(rate=0)
    assert E2eSettings(rate=5000, latency_seconds=30).latency_reads == 150_000


def test_a_job_config_is_checked_before_anything_runs_and_passed_to_feblams_job(tmp_path):
    from feblam.bench.e2e import FEBLAM, BASELINE, Endpoints, _job_args

    bad = tmp_path / "bad.yaml"
    bad.write_text("clones: {speed: 1}\n")
    with pytest.raises(ValueError, match="clones"):
        E2eSettings(job_config=bad)
    good = tmp_path / "off.yaml"
    good.write_text("clones: {enabled: false}\n")
    settings = E2eSettings(job_config=good)
    run = EngineRun(FEBLAM, "reads", "out")
    endpoints = Endpoints("127.0.0.1:9092", "http://127.0.0.1:8080", "http://127.0.0.1:8081", tmp_path)
    args = _job_args(FEBLAM, endpoints, {"reference_prefix": "ref.", "cameras": "cameras"}, run, "g", settings)
    assert args[args.index("--config") + 1] == str(good.resolve())
    assert "--config" not in _job_args(BASELINE, endpoints, {"reference_prefix": "ref."}, run, "g", settings)


def test_more_job_options_go_to_feblams_job_only(tmp_path):
    from feblam.bench.e2e import FEBLAM, BASELINE, Endpoints, _job_args
    from feblam.cli import build_parser

    args = build_parser().parse_args(["bench", "e2e", "--job-args", "--buffer-timeout-ms 100 --batch-records 200"])
    assert args.job_args == "--buffer-timeout-ms 100 --batch-records 200"
    settings = E2eSettings(job_args=("--buffer-timeout-ms", "100"))
    run = EngineRun(FEBLAM, "reads", "out")
    endpoints = Endpoints("127.0.0.1:9092", "http://127.0.0.1:8080", "http://127.0.0.1:8081", tmp_path)
    topics = {"reference_prefix": "ref.", "cameras": "cameras"}
    assert _job_args(FEBLAM, endpoints, topics, run, "g", settings)[-2:] == ["--buffer-timeout-ms", "100"]
    assert "--buffer-timeout-ms" not in _job_args(BASELINE, endpoints, topics, run, "g", settings)
    # The lists' start-up snapshot, once taken, is FEBLAM's job's to load.
    snapshot = _job_args(FEBLAM, endpoints, {**topics, "snapshots": "/s"}, run, "g", settings)
    assert snapshot[snapshot.index("--reference-snapshots") + 1] == "/s"
    assert "--reference-snapshots" not in _job_args(FEBLAM, endpoints, topics, run, "g", settings)
    assert build_parser().parse_args(["bench", "e2e", "--no-snapshot"]).no_snapshot


def test_figures_from_observed_outputs():
    settings = E2eSettings(reads=10_000, warmup_reads=10, rate=10, latency_seconds=2)
    ids = [f"r{i}" for i in range(10 + 10_000 + 20)]
    reads = Reads(ids, [b""] * len(ids), settings)
    run = EngineRun("feblam", "reads", "out", job_id="j", ready_s=3.0, rss_peak_mb=1234.5)
    # Backlog: read n of the backlog is output at 100 s + n ms (1,000 reads/s), one output in ten.
    run.outputs = [(100_000 + n, ids[10 + n]) for n in range(0, 10_000, 10)]
    # Latency reads: sent at 200 s + i*100 ms, each output 50 ms later, one of them twice.
    for i in range(20):
        read_id = ids[10_010 + i]
        run.sent_ms[read_id] = 200_000 + 100 * i
        run.outputs.append((200_000 + 100 * i + 50, read_id))
    run.outputs.append((200_000 + 900, ids[10_010]))
    result = figures(run, reads)
    assert result["reads_per_s"] == pytest.approx(1000, rel=0.05)
    assert result["p50_ms"] == 50 and result["p99_ms"] == 50 and result["latency_samples"] == 20
    assert result["rss_mb"] == 1234.5 and result["outputs"] == 1021
    assert set(result["_series"]) == {"throughput", "latencies_ms"}
    # After a kill the job replays from its checkpoint: a latency read whose first
    # output comes only then is no latency sample (its outage is restore_s).
    last = ids[10_029]
    run.outputs = [output for output in run.outputs if output[1] != last] + [(260_000, last)]
    run.killed_ms = 250_000
    assert (figures(run, reads)["latency_samples"], figures(run, reads)["max_ms"]) == (19, 50)
    run.killed_ms = None
    assert (figures(run, reads)["latency_samples"], figures(run, reads)["max_ms"]) == (20, 260_000 - 201_900)


def test_restore_reads_and_restore_s():
    from feblam.bench.e2e import restore_s

    assert E2eSettings(restore_seconds=60, restore_rate=500).restore_reads == 30_000
    assert E2eSettings(restore_seconds=0).restore_reads == 0
    assert E2eSettings(embedded=True).restore_reads == 0   # no taskmanager to kill
    with pytest.raises(ValueError):
        E2eSettings(restore_seconds=-1)
    reads = Reads([f"r{i}" for i in range(10)], [b""] * 10,
                  E2eSettings(warmup_reads=2, reads=3, rate=1, latency_seconds=2, restore_rate=1, restore_seconds=3))
    assert (reads.latency, reads.restore) == (range(5, 7), range(7, 10))
    run = EngineRun("feblam", "reads", "out")
    run.outputs = [(1_000, "r1"), (9_000, "r8"), (7_500, "r7")]
    assert restore_s(run) is None              # nothing was killed
    run.killed_ms = 2_000
    assert restore_s(run) == 5.5               # the first output after the kill
    run.killed_ms = 10_000
    assert restore_s(run) is None              # none came
