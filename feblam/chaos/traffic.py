"""What flows during a chaos run, and what watches it: the reads sent at the run's
rate, the hits and the job's restarts observed as they come. Each is a thread of
the run; they share one `Observed`."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from connectors.kafka_clients import client_config, flush_all, produce
from feblam.chaos.plan import ChaosSettings, plate, read_id

EVENT_TIME_BASE_MS = 1_772_352_000_000   # 2026-03-01T08:00Z; reads 1 ms apart
# A day after the reads, fixed like them: the clock of their history's retention
# (the job's --history-now), so that a run gives the same figures a year on.
HISTORY_NOW = "2026-03-02T08:00:00Z"
# The run's own clients do not log: a broker that refuses connections while it
# restarts is the point of the run, and an injected fault that does not recover
# fails the run in `inject` anyway.
QUIET = {"log_level": 0}


@dataclass
class Observed:
    """What the run saw, filled in by its threads."""

    hit_arrivals: list[tuple[float, str]] = field(default_factory=list)   # (monotonic time, read_id)
    hit_ids: set[str] = field(default_factory=set)
    restarts: int = 0
    sent: int = 0
    feed_done: float | None = None
    errors: list[str] = field(default_factory=list)
    watch_errors: int = 0                     # reads or decodes of a watched topic that failed, then retried
    last_watch_error: str | None = None


class TopicWatch(threading.Thread):
    """Reads a topic from its start for the run, handing each value to `note` as it
    arrives. A read or a `note` that fails is counted in `observed` and tried again
    (the registry a decoder asks may be the service just restarted): a watch that
    died would count every later message as missing."""

    def __init__(self, name: str, bootstrap: str, topic: str, note: Callable[[bytes], None], observed: Observed):
        super().__init__(name=name, daemon=True)
        self.bootstrap, self.topic, self.note, self.observed = bootstrap, topic, note, observed
        self.stopping = threading.Event()

    def run(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        consumer = Consumer(client_config({"bootstrap.servers": self.bootstrap, "group.id": f"chaos-{uuid.uuid4().hex}",
                                           "enable.auto.commit": False, **QUIET}))
        # Its partitions assigned, not subscribed: a consumer group's coordinator is one
        # more thing a broker restart can leave a subscriber waiting on, and measured
        # here it did (a run whose job had written every hit saw 210 of 1,000).
        partitions = consumer.list_topics(self.topic, timeout=30).topics[self.topic].partitions
        consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
        try:
            while not self.stopping.is_set():
                try:
                    messages = consumer.consume(1000, 0.5)
                except Exception as error:
                    self._failed(error)
                    continue
                for message in messages:
                    if message.error():   # a broker restarting: the consumer reconnects by itself
                        continue
                    while not self._noted(message.value()) and not self.stopping.wait(1.0):
                        pass
        finally:
            consumer.close()

    def _noted(self, value: bytes) -> bool:
        try:
            self.note(value)
            return True
        except Exception as error:
            self._failed(error)
            return False

    def _failed(self, error: Exception) -> None:
        self.observed.watch_errors += 1
        self.observed.last_watch_error = f"{self.name}: {type(error).__name__}: {error}"


def hit_watch(bootstrap: str, topic: str, read_id_of: Callable[[bytes], tuple[str, str]],
              observed: Observed) -> TopicWatch:
    """The hits topic watched: when each hit arrived, and its read."""

    def note(value: bytes) -> None:
        read, hit = read_id_of(value)
        observed.hit_arrivals.append((time.monotonic(), read))
        observed.hit_ids.add(hit)

    return TopicWatch("chaos-hits", bootstrap, topic, note, observed)


class RestartMonitor(threading.Thread):
    """Samples the job's `numRestarts` every second. A new jobmanager counts from 0
    again, so a value below the last one starts a new count."""

    def __init__(self, flink_url: str, job_id: str, observed: Observed):
        super().__init__(name="chaos-restarts", daemon=True)
        self.url = f"{flink_url}/jobs/{job_id}/metrics?get=numRestarts"
        self.observed = observed
        self.stopping = threading.Event()

    def run(self) -> None:
        import requests

        last = 0
        while not self.stopping.wait(1.0):
            try:
                values = requests.get(self.url, timeout=2).json()
                value = int(values[0]["value"]) if values else None
            except Exception:   # the jobmanager is down, or has not recovered the job yet
                continue
            if value is None:
                continue
            self.observed.restarts += value - last if value >= last else value
            last = value


class Feeder(threading.Thread):
    """Sends the reads at the run's rate, encoding each as it goes."""

    def __init__(self, settings: ChaosSettings, bootstrap: str, topic: str, encode: Callable[[dict], bytes],
                 run: str, observed: Observed):
        super().__init__(name="chaos-feed", daemon=True)
        self.settings, self.bootstrap, self.topic, self.encode = settings, bootstrap, topic, encode
        self.run_id, self.observed = run, observed

    def run(self) -> None:
        from confluent_kafka import Producer

        from feblam.simulate.kafka_writer import RatePacer

        producer = Producer(client_config({"bootstrap.servers": self.bootstrap, "linger.ms": 5,
                                           "queue.buffering.max.messages": 1_000_000,
                                           # A broker restart must not lose a read: wait it out.
                                           "message.timeout.ms": 600_000, "enable.idempotence": True, **QUIET}))
        pacer = RatePacer(self.settings.rate)
        try:
            for i in range(self.settings.reads):
                pacer.wait()
                produce(producer, self.topic, self.encode(_read(self.run_id, i, self.settings)))
                producer.poll(0)
                self.observed.sent = i + 1
            flush_all(producer, 600, f"reads sent to {self.topic}")
        except Exception as error:
            self.observed.errors.append(f"feeding reads: {type(error).__name__}: {error}")
        finally:
            self.observed.feed_done = time.monotonic()


def _read(run: str, i: int, settings: ChaosSettings) -> dict:
    return {"read_id": read_id(run, i), "camera_id": "CAM-CHAOS", "event_time": EVENT_TIME_BASE_MS + i,
            "plate_text": plate(i, settings), "plate_country": "B", "ocr_confidence": 0.95,
            "make": None, "colour": None, "vehicle_type": None, "image_ref": None, "source": None}
