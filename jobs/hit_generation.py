"""The hit-generation job: plate reads in, scored and de-duplicated hits out.

One chain, whatever the input (`build_chain`; the functions are in `jobs.match_step` and `jobs.operators`):

    reads ──batches, keyed by own subtask──┐                                          ┌─▶ hits
                                            DecodeAndMatch ─keyBy(dedup key)─ Deduplicate
    reference updates + cameras ─bcast─────┘  │ ├─▶ dead letters    ▲                 └─▶ sightings
                                              │ └─▶ refusals        │
                                              └─keyBy(plate bucket)─ DetectClones (spec §11)

Only the sources, the codecs (`connectors.codecs`) and the sink differ by mode:
- **files** (`run_files`): the JSON Lines files of spec §10 on the embedded
  mini-cluster, read by `connectors.files.line_source` (a line's number is its
  offset), written by one file sink and merged into the run's files in file
  order; returns when the input is exhausted;
- **Kafka** (`build_kafka_job`, and `main` when this file is submitted with
  `feblam submit jobs/hit_generation.py -- --help`): Avro topics in and out,
  runs until cancelled.

This module is wiring only: the semantics live in `udfs` (what a hit is:
docs/hits.md).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pyflink.common import Duration, Types, WatermarkStrategy
from pyflink.datastream import DataStream, StreamExecutionEnvironment

from connectors.codecs import FileCodec, KafkaCodec
from connectors import contracts
from connectors.file_outputs import OutputCounts, write_outputs
from connectors.files import FileFeed, line_source, output_sink
from connectors.history import attach_history
from connectors.kafka_reading import KafkaFeed
from connectors.read_fields import ReadFieldsSpec, read_fields
from connectors.kafka import (
    OUTGOING_TYPE,
    RECORD_TYPE,
    batched_by_subtask,
    keyed_by_first_field,
    record_batches,
    record_sink,
    record_source,
    spread_keys,
)
from jobs.environment import execution_environment
from history.late_reads import LateReads
from jobs.match_step import DecodeAndMatch
from jobs.operators import (
    CANDIDATE_TYPE,
    CLONE_READS,
    CLONE_READS_VALUE,
    DEAD_LETTERS,
    HISTORY_HITS,
    HISTORY_READS,
    HISTORY_SIGHTINGS,
    REFERENCE_STATE,
    REFUSALS,
    DetectClones,
    Deduplicate,
    EventTime,
)
from udfs.config import CLONE_MAX_PARALLELISM, MatchingSettings

# Reads and reference updates enter Python in batches (connectors.kafka.record_batches):
# at most this many records, and none waits longer than this for its batch to close.
# On files 2,000: `feblam bench replay` went from 27,847 to 46,392 reads/s with it. On
# Kafka 500, the size the job was tuned at: runs of `feblam bench e2e` with 2,000 gave
# no better figure (34,637 reads/s, p99 337 ms, within the spread of runs at 500:
# 34,795 to 46,540 reads/s), and a batch also closes 20 ms after its first record.
BATCH_RECORDS = 500
FILE_BATCH_RECORDS = 2000
BATCH_DELAY_MS = 20
# The longest a record waits in a network buffer between two steps. Flink's default,
# 100 ms, is for throughput: with it `feblam bench e2e` gave p50 230 ms, p99 560 ms at
# 5,000 reads/s offered, and 23,134 reads/s on its backlog; with 10 ms, p50 54 ms, p99
# 228 ms, and 25,427 reads/s (docs/benchmarks.md, "Latency"). A hit is 1 read in
# 100: at 100 ms it waited for a buffer that would not fill, at each of the two hops.
BUFFER_TIMEOUT_MS = 10
# A match subtask that sends no candidate for this long does not hold the event-time
# clock of de-duplication back (spec §7 forgets keys by event time).
IDLE_AFTER_S = 10


@dataclass(frozen=True)
class ChainSettings:
    """What the chain needs beyond its sources, codec and sink."""

    matching: MatchingSettings = field(default_factory=MatchingSettings)
    history: str | Path | None = None
    batch_records: int = BATCH_RECORDS
    batch_delay_ms: int = BATCH_DELAY_MS
    # The clock of the history's retention (history.late_reads), epoch ms; None: the wall clock.
    history_now: int | None = None
    # Where the lists' start-up snapshots are (connectors.reference.snapshot); None: none.
    snapshots: str | None = None
    # Reads decoded in Java before the match step (connectors.read_fields); None: by the codec.
    read_fields: ReadFieldsSpec | None = None


def build_chain(env: StreamExecutionEnvironment, reads: DataStream, updates: DataStream, codec, feed,
                settings: ChainSettings) -> DataStream:
    """Decode → Match → Deduplicate over `reads` and `updates` (streams of RECORD_TYPE
    envelopes); returns every output as Row(topic, key, value) for the mode's sink.
    `codec` is one of `connectors.codecs`, `feed` gives the reference ends and replay."""
    history = settings.history is not None
    clone_settings = settings.matching.clones
    # The clone step's keys, one per bucket of plates, spread evenly over its subtasks
    # (a savepoint holds its state under them: they depend on the bucket count only).
    clone_keys = spread_keys(clone_settings.buckets, CLONE_MAX_PARALLELISM) if clone_settings.enabled else ()
    broadcast = (
        record_batches(updates, settings.batch_records, settings.batch_delay_ms, "reference-batches")
        .broadcast(REFERENCE_STATE)
    )
    matched = (
        batched_by_subtask(reads, settings.batch_records, settings.batch_delay_ms, "read-batches",
                           settings.read_fields)
        .connect(broadcast)
        .process(DecodeAndMatch(settings.matching, codec, feed,
                                late_reads=LateReads(now_ms=settings.history_now) if history else None,
                                snapshots=settings.snapshots, clone_keys=clone_keys), output_type=CANDIDATE_TYPE)
        .name("decode-and-match").uid("decode-and-match")
    )
    # Each branch is stamped with event time where it is made, and keyed by its dedup
    # key in Java, so the stamping chains to the step before it. A union in front of
    # one stamping step kept it from chaining: every hit crossed to it and to PyFlink's
    # key step, two Python steps of their own (docs/benchmarks.md, "What clone
    # suspicion costs").
    clock = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(EventTime()) \
        .with_idleness(Duration.of_seconds(IDLE_AFTER_S))
    candidates = matched.assign_timestamps_and_watermarks(clock).name("event-time").uid("event-time")
    if clone_settings.enabled:
        # The uid names the bucket count: state kept under one count's keys is of no use
        # under another's, and Flink then refuses the savepoint rather than keep it
        # unread. Not "detect-clones": that version's keys were 0..15, which Flink's
        # hash puts 11 and 5 on two subtasks (docs/operations.md, "Upgrading").
        suspicions = (
            keyed_by_first_field(matched.get_side_output(CLONE_READS), CLONE_READS_VALUE)
            .process(DetectClones(settings.matching), output_type=CANDIDATE_TYPE)
            .name("detect-clones").uid(f"detect-clones-{clone_settings.buckets}-buckets")
            .set_max_parallelism(CLONE_MAX_PARALLELISM)
        )
        candidates = candidates.union(
            suspicions.assign_timestamps_and_watermarks(clock).name("clone-event-time").uid("clone-event-time"))
    decided = (
        keyed_by_first_field(candidates, Types.PICKLED_BYTE_ARRAY(), Types.STRING())
        .process(Deduplicate(settings.matching, codec, history=history), output_type=OUTGOING_TYPE)
        .name("deduplicate").uid("deduplicate")
    )
    if history:
        attach_history(env, settings.history, matched.get_side_output(HISTORY_READS),
                       decided.get_side_output(HISTORY_HITS), decided.get_side_output(HISTORY_SIGHTINGS))
    return decided.union(matched.get_side_output(DEAD_LETTERS), matched.get_side_output(REFUSALS))


# -- files ------------------------------------------------------------------------------

READS, REFERENCE, CAMERAS = "reads", "reference", "cameras"  # the file sources' topics


@dataclass(frozen=True)
class FileJobSettings:
    """Inputs and outputs of one file-mode run (spec §10)."""

    reads: Path
    reference: Path
    cameras: Path
    hits: Path
    dead_letters: Path
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    parallelism: int = 1
    history: Path | None = None
    sightings: Path | None = None
    refusals: Path | None = None
    history_now: int | None = None

    def __post_init__(self) -> None:
        # Absolute from here on: Flink wants file:// URIs, and they cannot be relative.
        for name in ("reads", "reference", "cameras", "hits", "dead_letters", "history", "sightings", "refusals"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)).resolve())
        for name in ("reads", "reference", "cameras"):
            path = getattr(self, name)
            if not path.is_file():
                raise FileNotFoundError(f"--{name.replace('_', '-')}: no such file {path}")
        if self.parallelism < 1:
            raise ValueError(f"--parallelism must be at least 1, got {self.parallelism}")


def build_file_job(env: StreamExecutionEnvironment, settings: FileJobSettings, work: Path) -> None:
    """Wire the chain over files; its outputs go to part files under `work`."""
    feed = FileFeed({REFERENCE: settings.reference, CAMERAS: settings.cameras})
    # Each match subtask loads both files in open: their sources start at their last
    # line, so the lines are not delivered (and skipped) a second time.
    start = feed.ends().resume_positions()
    updates = line_source(env, settings.reference, REFERENCE, start[(REFERENCE, 0)]) \
        .union(line_source(env, settings.cameras, CAMERAS, start[(CAMERAS, 0)]))
    outputs = build_chain(env, line_source(env, settings.reads, READS), updates, FileCodec(REFERENCE, CAMERAS), feed,
                          ChainSettings(settings.matching, settings.history, FILE_BATCH_RECORDS,
                                        history_now=settings.history_now))
    outputs.sink_to(output_sink(work)).name("outputs").uid("sink")


def run_files(settings: FileJobSettings) -> OutputCounts:
    """Run the job over files on the embedded mini-cluster and write its outputs as
    JSON Lines, in the order of the input lines that made them; their counts.

    Outputs stream through a file sink into a work folder beside the hits file
    (committed on checkpoint and at the end of input, like the history) and are
    merged from there once the job has finished (`connectors.file_outputs`)."""
    env = execution_environment(embedded=True, parallelism=settings.parallelism)
    settings.hits.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".feblam-run-", dir=settings.hits.parent) as work:
        build_file_job(env, settings, Path(work))
        env.execute("feblam-hit-generation-files")
        return write_outputs(Path(work), settings.hits, settings.dead_letters, settings.sightings, settings.refusals)


# -- Kafka ------------------------------------------------------------------------------

@dataclass(frozen=True)
class KafkaJobSettings:
    """Where the Kafka-mode job reads and writes. Every topic name can be set, so one
    cluster can carry several environments; `reference_prefix` + list name is the
    compacted topic of one reference list (new lists are picked up as they appear)."""

    bootstrap_servers: str = "127.0.0.1:9092"
    registry_url: str = "http://127.0.0.1:8080/apis/ccompat/v7"
    reads_topic: str = contracts.feed("reads").default_topic
    reference_prefix: str = contracts.DEFAULT_REFERENCE_PREFIX
    cameras_topic: str = contracts.feed("cameras").default_topic
    hits_topic: str = contracts.feed("hits").default_topic
    dead_letter_topic: str = contracts.feed("dead-letter").default_topic
    group_id: str = "feblam-hit-generation"
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    parallelism: int | None = None
    history: str | None = None
    history_now: int | None = None
    sightings_topic: str = contracts.feed("sightings").default_topic
    refusals_topic: str = contracts.feed("refusals").default_topic
    batch_records: int = BATCH_RECORDS
    batch_delay_ms: int = BATCH_DELAY_MS
    buffer_timeout_ms: int = BUFFER_TIMEOUT_MS
    reference_snapshots: str | None = None

    @property
    def reference_pattern(self) -> str:
        """Every reference topic and the camera topic, as one anchored regex."""
        import re

        return f"({re.escape(self.reference_prefix)}.+|{re.escape(self.cameras_topic)})"


def build_kafka_job(env: StreamExecutionEnvironment, settings: KafkaJobSettings) -> None:
    """Wire the chain on Kafka: reads and reference topics in; hits, sightings, dead
    letters and refusals out, each to its topic."""
    from connectors.contracts import lookup
    from connectors.registry import RegistryClient

    # The job registers nothing: its contracts are put in the registry by the one
    # governance step (`feblam schemas apply`). Looking them up here fails the
    # submission at once, with what to run, rather than every subtask at open.
    registry = RegistryClient(settings.registry_url)
    for topic, contract in ((settings.hits_topic, "Hit"), (settings.sightings_topic, "HitSighting"),
                            (settings.dead_letter_topic, "DeadLetter"), (settings.refusals_topic, "ReferenceRefusal")):
        lookup(registry, topic, contract)
    largest = _room_for_outputs(settings)
    env.set_buffer_timeout(settings.buffer_timeout_ms)
    reads = env.from_source(
        record_source(settings.bootstrap_servers, f"{settings.group_id}.reads", topics=[settings.reads_topic]),
        WatermarkStrategy.no_watermarks(), "plate-reads", type_info=RECORD_TYPE,
    ).uid("source-plate-reads")
    feed = KafkaFeed(settings.bootstrap_servers, settings.reference_pattern)
    # Each match subtask loads the lists up to their ends in open; the stream goes on
    # from the last record seen now, so a fresh start does not deliver every entry again.
    updates = env.from_source(
        record_source(settings.bootstrap_servers, f"{settings.group_id}.reference", pattern=settings.reference_pattern,
                      start_at=feed.ends().resume_positions()),
        WatermarkStrategy.no_watermarks(), "reference-and-cameras", type_info=RECORD_TYPE,
    ).uid("source-reference").set_parallelism(1)
    codec = KafkaCodec(settings.registry_url, settings.reference_prefix, settings.cameras_topic, settings.hits_topic,
                       settings.sightings_topic, settings.dead_letter_topic, settings.refusals_topic)
    outputs = build_chain(env, reads, updates, codec, feed,
                          ChainSettings(settings.matching, settings.history, settings.batch_records,
                                        settings.batch_delay_ms, settings.history_now,
                                        snapshots=settings.reference_snapshots,
                                        read_fields=read_fields(registry, settings.reads_topic)))
    outputs.sink_to(record_sink(settings.bootstrap_servers, {"max.request.size": str(largest)})) \
        .name("outputs").uid("sink")


def _room_for_outputs(settings: KafkaJobSettings) -> int:
    """A dead letter or a refusal keeps its input whole and adds a little (spec §3), a
    sighting carries its read's id and camera, a hit its read's fields and its list
    entry's: each output topic must take a record larger than its inputs take, or one
    large read or entry would be unwritable and restart the job without end (spec §3:
    a single read never does). Makes that so (creating or raising the four topics) and
    returns the largest record the sink may then write."""
    import re

    from connectors.dead_letters import HEADROOM_BYTES
    from connectors.topics import make_room, topic_names

    servers, reads = settings.bootstrap_servers, [settings.reads_topic]
    updates = [name for name in topic_names(servers) if re.fullmatch(settings.reference_pattern, name)]
    entries = [name for name in updates if name != settings.cameras_topic]
    return max(make_room(servers, settings.dead_letter_topic, reads, HEADROOM_BYTES),
               make_room(servers, settings.refusals_topic, [*updates, settings.cameras_topic], HEADROOM_BYTES),
               make_room(servers, settings.sightings_topic, reads, HEADROOM_BYTES),
               make_room(servers, settings.hits_topic, reads, HEADROOM_BYTES, also=entries))


def main(argv: list[str] | None = None) -> int:
    import argparse

    from jobs.environment import JobHelpFormatter, add_deployment_arguments
    from jobs.options import add_history_now_argument, add_matching_arguments, matching_settings

    defaults = KafkaJobSettings()
    parser = argparse.ArgumentParser(
        prog="hit_generation.py",
        description="FEBLAM's hit-generation job on Kafka. Submit it with "
        "`feblam submit jobs/hit_generation.py -- [options]`; it runs until cancelled.",
        formatter_class=JobHelpFormatter,
    )
    kafka = parser.add_argument_group("Kafka and the schema registry")
    kafka.add_argument("--bootstrap-servers", default=defaults.bootstrap_servers, help="Kafka bootstrap servers")
    kafka.add_argument("--registry-url", default=defaults.registry_url, help="schema registry (Confluent-compatible API)")
    kafka.add_argument("--reads-topic", default=defaults.reads_topic, help="plate reads, Avro PlateRead")
    kafka.add_argument("--reference-prefix", default=defaults.reference_prefix,
                       help="reference lists are the compacted topics <prefix><list name>, Avro ReferenceEntry")
    kafka.add_argument("--cameras-topic", default=defaults.cameras_topic, help="the camera registry, compacted, Avro Camera")
    kafka.add_argument("--hits-topic", default=defaults.hits_topic, help="where hits go, Avro Hit, key = dedup key")
    kafka.add_argument("--sightings-topic", default=defaults.sightings_topic,
                       help="where later reads of a hit's vehicle go, Avro HitSighting, key = dedup key")
    kafka.add_argument("--dead-letter-topic", default=defaults.dead_letter_topic,
                       help="where invalid reads go, Avro DeadLetter")
    kafka.add_argument("--refusals-topic", default=defaults.refusals_topic,
                       help="where refused reference and camera updates go, Avro ReferenceRefusal")
    kafka.add_argument("--reference-snapshots", default=defaults.reference_snapshots, metavar="DIR",
                       help="where `feblam reference snapshot` keeps the lists' start-up snapshots (a folder "
                            "every taskmanager reads): a subtask loads the newest as columns and reads the "
                            "topics only after it, instead of from their start (docs/operations.md)")
    kafka.add_argument("--group-id", default=defaults.group_id,
                       help="consumer group prefix (offsets are kept in Flink checkpoints)")
    add_matching_arguments(parser)
    flow = parser.add_argument_group("batches and history")
    flow.add_argument("--batch-records", type=int, default=defaults.batch_records, metavar="N",
                      help="reads and reference updates enter Python in batches of at most N: larger batches "
                           "give more reads a second and longer waits")
    flow.add_argument("--batch-delay-ms", type=int, default=defaults.batch_delay_ms, metavar="MS",
                      help="no record waits longer than this for its batch to close: the latency a batch adds")
    flow.add_argument("--buffer-timeout-ms", type=int, default=defaults.buffer_timeout_ms, metavar="MS",
                      help="the longest a record waits in a network buffer between two steps")
    flow.add_argument("--history", default=defaults.history,
                      help="root of the Parquet history (a path or URI the cluster can write); none if unset")
    add_history_now_argument(flow)
    add_deployment_arguments(parser)
    args = parser.parse_args(argv)
    if args.batch_records < 1 or args.batch_delay_ms < 0 or args.buffer_timeout_ms < 0:
        parser.error("--batch-records must be at least 1, --batch-delay-ms and --buffer-timeout-ms at least 0")
    try:
        matching = matching_settings(args)
    except (ValueError, OSError) as error:   # ConfigError is a ValueError
        parser.error(f"{args.config or 'the matching options'}: {error}")

    settings = KafkaJobSettings(
        bootstrap_servers=args.bootstrap_servers, registry_url=args.registry_url, reads_topic=args.reads_topic,
        reference_prefix=args.reference_prefix, cameras_topic=args.cameras_topic, hits_topic=args.hits_topic,
        dead_letter_topic=args.dead_letter_topic, group_id=args.group_id, matching=matching,
        parallelism=args.parallelism, history=args.history, history_now=args.history_now,
        sightings_topic=args.sightings_topic,
        refusals_topic=args.refusals_topic, batch_records=args.batch_records, batch_delay_ms=args.batch_delay_ms,
        buffer_timeout_ms=args.buffer_timeout_ms, reference_snapshots=args.reference_snapshots,
    )
    from connectors.kafka_security import kafka_component

    env = execution_environment(embedded=args.embedded, parallelism=settings.parallelism, jars=args.jars)
    with kafka_component("jobs"):   # its own Kafka user, baked into its sources and sinks
        build_kafka_job(env, settings)
        env.execute("feblam-hit-generation")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
