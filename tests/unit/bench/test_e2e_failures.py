"""`feblam bench e2e` fails loudly and prints no figures: outputs not read to their
end, a job that will not cancel, and any failure of the run on its way to the CLI.
No stack: the Kafka consumer and the Flink REST client are stood in for."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import feblam.flinkrest
from feblam.bench import e2e
from feblam.bench.e2e import Endpoints, cancel, read_outputs
from feblam.flinkrest import FlinkRest, FlinkRestError

ENDPOINTS = Endpoints("kafka:9092", "http://registry:8081", "http://flink:8081", Path("var/run"))


class _Message:
    def __init__(self, partition: int, offset: int):
        self._partition, self._offset = partition, offset

    def error(self):
        return None

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def timestamp(self):
        return (2, 1772352000000 + self._offset)

    def value(self):
        return f"read-{self._partition}-{self._offset}".encode()


class _Stalled:
    """A consumer of a two-partition topic, 3 records each, that only ever gets partition 0's."""

    def __init__(self, config):
        self.pending = [_Message(0, offset) for offset in range(3)]

    def list_topics(self, topic, timeout):
        metadata = type("Topic", (), {"partitions": {0: None, 1: None}})()
        return type("Metadata", (), {"topics": {topic: metadata}})()

    def get_watermark_offsets(self, partition, timeout):
        return (0, 3)

    def assign(self, partitions):
        pass

    def consume(self, count, timeout):
        batch, self.pending = self.pending, []
        return batch

    def close(self):
        pass


def test_outputs_not_read_to_their_end_in_time_are_an_error_not_a_shorter_list(monkeypatch):
    import confluent_kafka

    monkeypatch.setattr(confluent_kafka, "Consumer", _Stalled)
    with pytest.raises(RuntimeError, match=r"out: 1 of 2 partitions not read to their end within 0.2 s"):
        read_outputs(ENDPOINTS, "out", bytes.decode, deadline_s=0.2)


class _Cluster(FlinkRest):
    """The REST client with the cluster's answers chosen: `cancel_error` raised by the
    cancel request, then `states` given one by one (the last repeated)."""

    cancel_error: Exception | None = None
    states: list[str] = ["CANCELED"]

    def cancel(self, job_id):
        if self.cancel_error is not None:
            raise self.cancel_error

    def job(self, job_id):
        state = type(self).states[0]
        if len(type(self).states) > 1:
            type(self).states = type(self).states[1:]
        return {"state": state}


@pytest.fixture
def cluster(monkeypatch):
    monkeypatch.setattr(feblam.flinkrest, "FlinkRest", _Cluster)
    monkeypatch.setattr(_Cluster, "cancel_error", None)
    monkeypatch.setattr(_Cluster, "states", ["CANCELLING", "CANCELED"])
    return _Cluster


def test_a_cancelled_job_is_waited_for_until_it_has_ended(cluster):
    assert cancel(ENDPOINTS, "f" * 32, timeout_s=5) == "CANCELED"


def test_a_refused_cancel_names_the_job_and_the_clusters_answer(cluster):
    cluster.cancel_error = FlinkRestError("cancel ff: HTTP 500 internal error")
    cluster.states = ["RUNNING"]
    with pytest.raises(RuntimeError, match=r"job f{32} could not be cancelled.*HTTP 500 internal error"):
        cancel(ENDPOINTS, "f" * 32)


def test_a_cluster_that_does_not_answer_is_an_error(cluster):
    cluster.cancel_error = requests.ConnectionError("connection refused")
    with pytest.raises(RuntimeError, match=r"job f{32} could not be cancelled.*connection refused"):
        cancel(ENDPOINTS, "f" * 32)


def test_a_job_that_never_ends_is_an_error(cluster):
    cluster.states = ["CANCELLING"]
    with pytest.raises(RuntimeError, match=r"job f{32} could not be cancelled.*did not stop within 1 s"):
        cancel(ENDPOINTS, "f" * 32, timeout_s=1)


def test_a_job_that_had_already_ended_is_left_as_it_is(cluster):
    # Flink refuses to cancel a job that has ended (the run failed because it had).
    cluster.cancel_error = FlinkRestError("cancel ff: HTTP 409 job has already terminated")
    cluster.states = ["FAILED"]
    assert cancel(ENDPOINTS, "f" * 32) == "FAILED"


def test_a_failed_run_prints_no_figures_and_exits_non_zero(monkeypatch, capsys):
    import feblam.reach
    from feblam.cli import main

    for name in ("require_kafka", "require_registry", "require_flink"):
        monkeypatch.setattr(feblam.reach, name, lambda *args, **kwargs: None)

    def run_e2e(settings, endpoints, log):
        raise RuntimeError("bench-x-feblam-out: 1 of 2 partitions not read to their end within 300 s")

    monkeypatch.setattr(e2e, "run_e2e", run_e2e)
    status = main(["bench", "e2e", "--json", "--quiet", "--png", "none", "--entries", "10", "--reads", "10"])
    out, err = capsys.readouterr()
    assert status != 0
    assert out == ""   # no JSON, no aligned figures: nothing a script could take for a result
    assert err.strip().splitlines() == [
        "feblam bench: RuntimeError: bench-x-feblam-out: 1 of 2 partitions not read to their end within 300 s "
        "(`feblam --debug ...` shows the trace)"]
