"""Flink's Prometheus reporter on the stack, scraped after a small real run of the
hit-generation job: its counters are the run's known counts (reads in and those
decoded in Java, dead letters by reason, refusals by topic, hits by list and
priority, de-duplication keys), and the Kafka source's lag and the start-up load
are there (docs/operations.md, "Metrics")."""

from __future__ import annotations

import time
from collections import Counter

from . import prometheus
from .hitjob import Feeds, cancel, decoded, hits, submit, wait_running

STOLEN = [f"1AAA00{i}" for i in range(1, 6)]      # stolen_vehicles entries, each read once
JUDICIAL = ["7JJJ701", "7JJJ702", "7JJJ703"]      # judicial_alerts entries, each read once
OTHERS = [f"3KKK3{i}{i}" for i in range(10)]      # valid reads that match nothing
BAD = {"MALFORMED": 4, "EMPTY_PLATE": 2, "BAD_CONFIDENCE": 3}


def _read(read_id: str, plate: str, confidence: float = 0.95) -> dict:
    return {"read_id": read_id, "camera_id": "CAM-M", "event_time": "2026-03-01T08:00:00Z", "plate_text": plate,
            "plate_country": None, "ocr_confidence": confidence}


def test_prometheus_counters_match_a_runs_counts(stack, new_topic):
    feeds = Feeds(stack, new_topic, {"stolen_vehicles", "judicial_alerts"}, read_partitions=2)
    for name, plates in (("stolen_vehicles", STOLEN), ("judicial_alerts", JUDICIAL)):
        for i, plate in enumerate(plates):
            feeds.entry({"list_name": name, "entry_id": f"{name}-{i}", "op": "UPSERT", "plate": plate})
    # Refused: its list_name is another list's (the topic decides the list).
    feeds.raw_entry("stolen_vehicles", b"W1", {"list_name": "judicial_alerts", "entry_id": "W1", "op": "UPSERT",
                                              "plate": "8WRO888"})
    feeds.flush()
    job_id = submit(stack, feeds, "--parallelism", "2")
    try:
        wait_running(stack, job_id)
        n = 0
        for plate in STOLEN + JUDICIAL + OTHERS:
            n += 1
            feeds.read(_read(f"M{n}", plate))
        for _ in range(BAD["MALFORMED"]):
            feeds.raw_read(b"not avro")
        for _ in range(BAD["EMPTY_PLATE"]):
            n += 1
            feeds.read(_read(f"M{n}", "- -"))
        for _ in range(BAD["BAD_CONFIDENCE"]):
            n += 1
            feeds.read(_read(f"M{n}", "1BBB111", confidence=1.5))
        feeds.flush()
        reads_in = len(STOLEN) + len(JUDICIAL) + len(OTHERS) + sum(BAD.values())

        sent = hits(stack, feeds, len(STOLEN) + len(JUDICIAL), distinct=True)
        dead = decoded(stack, feeds, feeds.dead, "DeadLetter", sum(BAD.values()))
        assert Counter(d["reason"] for d in dead) == BAD
        hits_by = Counter((h["list_name"], h["priority"]) for h in sent)
        assert sum(hits_by.values()) == len(STOLEN) + len(JUDICIAL)

        # The reporter reads the live counters; give the last batch's a moment to land.
        deadline = time.monotonic() + 60
        while True:
            samples = prometheus.scrape()
            if prometheus.total(samples, "feblam_readsIn", job_id) == reads_in or time.monotonic() > deadline:
                break
            time.sleep(1)
        names = sorted({s.name for s in samples if "feblam" in s.name})
        assert prometheus.total(samples, "feblam_readsIn", job_id) == reads_in, names
        # Every read of the contract was decoded in Java; the ones that are not Avro in Python.
        assert prometheus.total(samples, "feblam_readsDecodedInJava", job_id) == reads_in - BAD["MALFORMED"], names
        assert prometheus.by_label(samples, "_deadLetters", job_id, "reason") == BAD, names
        assert prometheus.by_label(samples, "_hits", job_id, "list", "priority") == dict(hits_by), names
        refusals = prometheus.by_label(samples, "_refusals", job_id, "topic")
        # The reporter writes a label value's characters outside [A-Za-z0-9_] as '_'.
        assert refusals == {feeds.topics["stolen_vehicles"].replace(".", "_"): 1}, names
        # One de-duplication key per hit: none is forgotten, the reads' event times are all one.
        assert prometheus.total(samples, "feblam_dedupKeys", job_id) == len(sent)
        # The start-up load: over, and every subtask loaded every record (8 entries, 1 refused).
        assert prometheus.total(samples, "feblam_referenceLoading", job_id) == 0
        loaded = [s.value for s in samples if s.name.endswith("feblam_referenceRecordsLoaded")
                  and s.labels.get("job_id") == job_id]
        assert loaded == [9.0, 9.0]
        # The Kafka source's own lag: every read taken.
        pending = [s for s in samples if s.name.endswith("_pendingRecords") and s.labels.get("job_id") == job_id
                   and "plate_reads" in s.labels.get("operator_name", "")]
        assert pending and all(s.value == 0 for s in pending), sorted({s.name for s in samples if "ending" in s.name})
        # The job's restarts, on the jobmanager's reporter: none in a clean run.
        assert prometheus.total(samples, "jobmanager_job_numRestarts", job_id) == 0
    finally:
        cancel(stack, job_id)
