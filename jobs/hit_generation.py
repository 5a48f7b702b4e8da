"""The hit-generation job: plate reads in, scored and de-duplicated hits out.

files:
    reads ──NumberAndParse──keyBy(OCR-class key)──┐           ┌─▶ hits
      (p=1)          └─dead letters─▶              Match ──keyBy(dedup key)──Deduplicate
    reference updates + cameras ──broadcast────────┘                          └─▶ sightings
Kafka:
    reads ──batches, keyBy(own subtask)──┐                                 ┌─▶ hits
                                          DecodeAndMatch ──keyBy(dedup key)──Deduplicate
    reference updates + cameras ─bcast───┘      └─▶ dead letters

This module is wiring only: the semantics live in `udfs` (spec
../shared/spec/hit-semantics.md), the Flink shells in `jobs.operators`.

File mode (`run_files`) runs on the embedded mini-cluster over the JSON Lines
files of spec §10 and returns when the input is exhausted. Kafka mode
(`build_kafka_job`, and `main` when this file is submitted with
`feblam submit jobs/hit_generation.py -- --help`) runs until cancelled.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pyflink.common import Types, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.common.serialization import Encoder
from pyflink.datastream.connectors.file_system import (
    BucketAssigner,
    FileSink,
    FileSource,
    OutputFileConfig,
    StreamFormat,
)

from jobs.environment import execution_environment
from jobs.operators import (
    CAMERA,
    DEAD_LETTERS,
    HISTORY_HITS,
    HISTORY_READS,
    HISTORY_SIGHTINGS,
    KAFKA_DEAD_LETTERS,
    DecodeAndMatch,
    OUTPUT_TYPE,
    REFERENCE,
    REFERENCE_STATE,
    REFUSED,
    Deduplicate,
    Match,
    NumberAndParse,
    dedup_key_text,
)
from connectors.history import attach_history
from connectors.kafka import (
    OUTGOING_TYPE,
    RECORD_TYPE,
    batched_by_subtask,
    record_batches,
    record_sink,
    record_source,
    startup_positions,
)
from udfs.config import MatchingSettings


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

    def __post_init__(self) -> None:
        # Absolute from here on: Flink wants file:// URIs, and they cannot be relative.
        for name in ("reads", "reference", "cameras", "hits", "dead_letters", "history"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)).resolve())
        for name in ("reads", "reference", "cameras"):
            path = getattr(self, name)
            if not path.is_file():
                raise FileNotFoundError(f"--{name.replace('_', '-')}: no such file {path}")
        if self.parallelism < 1:
            raise ValueError(f"--parallelism must be at least 1, got {self.parallelism}")


@dataclass
class RunSummary:
    """What a file-mode run produced, for the caller to print."""

    hits: list[dict]
    dead_letters: list[dict]
    refused_updates: list[dict]

    def counts(self) -> dict:
        return {
            "hits": len(self.hits),
            "dead_letters": len(self.dead_letters),
            "refused_reference_updates": len(self.refused_updates),
            "hits_by_list": dict(Counter(h["list_name"] for h in self.hits)),
            "hits_by_kind": dict(Counter(h["match_kind"] for h in self.hits)),
            "hits_by_priority": dict(Counter(h["priority"] for h in self.hits)),
            "dead_letters_by_reason": dict(Counter(d["reason"] for d in self.dead_letters)),
        }


class LineNumber(TimestampAssigner):
    """A read's Flink timestamp is its line number: file order, made visible to watermarks."""

    def extract_timestamp(self, value, record_timestamp: int) -> int:
        return value[1]


def _lines(env: StreamExecutionEnvironment, path: Path, name: str) -> DataStream:
    source = FileSource.for_record_stream_format(StreamFormat.text_line_format(), str(Path(path).resolve())).build()
    # One reader per file keeps file order (spec §10: updates apply in file order).
    return env.from_source(source, WatermarkStrategy.no_watermarks(), name).set_parallelism(1)


def build_file_job(env: StreamExecutionEnvironment, settings: FileJobSettings) -> DataStream:
    """Wire the job over files; returns the stream of (kind, JSON) outputs."""
    matching = settings.matching
    parsed = (
        _lines(env, settings.reads, "reads")
        .filter(lambda line: line.strip() != "").set_parallelism(1)
        .key_by(lambda _: 0, key_type=Types.INT())
        .process(NumberAndParse(matching, history=settings.history is not None))
        .name("number-and-parse").set_parallelism(1)
    )
    dead_letters = parsed.get_side_output(DEAD_LETTERS)
    reads = parsed.assign_timestamps_and_watermarks(
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(LineNumber())
    ).set_parallelism(1)

    updates = (
        _lines(env, settings.reference, "reference-updates")
        .filter(lambda line: line.strip() != "").set_parallelism(1)
        .map(lambda line: (REFERENCE, line)).set_parallelism(1)
        .union(
            _lines(env, settings.cameras, "cameras")
            .filter(lambda line: line.strip() != "").set_parallelism(1)
            .map(lambda line: (CAMERA, line)).set_parallelism(1)
        )
        .broadcast(REFERENCE_STATE)
    )
    matched = (
        reads.key_by(lambda parsed: parsed[0], key_type=Types.LONG())
        .connect(updates)
        .process(Match(matching)).name("match")
    )
    refused = matched.get_side_output(REFUSED)
    decided = (
        matched.key_by(dedup_key_text, key_type=Types.STRING())
        .process(Deduplicate(history=settings.history is not None), output_type=OUTPUT_TYPE).name("deduplicate")
    )
    if settings.history is not None:
        attach_history(env, settings.history, parsed.get_side_output(HISTORY_READS),
                       decided.get_side_output(HISTORY_HITS), decided.get_side_output(HISTORY_SIGHTINGS))
    return decided.union(dead_letters, refused)


def collect(outputs: Iterable) -> RunSummary:
    """Gather the job's outputs; folded reads become sightings of their hit."""
    hits, dead_letters, refused = [], [], []
    sightings: Counter = Counter()
    for kind, text in outputs:
        if kind == "hit":
            hits.append(json.loads(text))
        elif kind == "dead_letter":
            dead_letters.append(json.loads(text))
        elif kind == "sighting":
            sightings[text] += 1
        else:
            refused.append(json.loads(text))
    for hit in hits:
        hit["sightings"] += sightings[hit["hit_id"]]
    return RunSummary(hits, dead_letters, refused)


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True) + "\n")
    tmp.replace(path)  # readers never see a half-written file


def run_files(settings: FileJobSettings) -> RunSummary:
    """Run the job over files on the embedded mini-cluster; write the hits and dead
    letters (JSON Lines, in the order of the reads that made them) and return them.

    The job writes its outputs through a file sink into a work folder beside the
    hits file (committed on checkpoint and at the end of input, like the history);
    they are gathered from there once the job has finished."""
    env = execution_environment(embedded=True, parallelism=settings.parallelism)
    outputs = build_file_job(env, settings)
    settings.hits.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".feblam-run-", dir=settings.hits.parent) as work:
        sink = (
            FileSink.for_row_format(Path(work).as_uri(), Encoder.simple_string_encoder())
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
            .with_output_file_config(OutputFileConfig.builder().with_part_prefix("part").build())
            .build()
        )
        (
            outputs.map(lambda output: f"{output[0]}\t{output[1]}", output_type=Types.STRING())
            .sink_to(sink).name("outputs").set_parallelism(1)
        )
        env.execute("feblam-hit-generation-files")
        summary = collect(_output_lines(Path(work)))
    summary.hits.sort(key=lambda h: (h["event_time"], h["hit_id"]))
    summary.dead_letters.sort(key=lambda d: d.get("position") or 0)
    _write_jsonl(settings.hits, summary.hits)
    _write_jsonl(settings.dead_letters, summary.dead_letters)
    return summary


def _output_lines(work: Path) -> Iterable[tuple[str, str]]:
    for part in sorted(work.glob("part-*")):  # committed files only: in-progress ones start with '.'
        with part.open(encoding="utf-8") as lines:
            for line in lines:
                kind, _, text = line.rstrip("\n").partition("\t")
                yield kind, text


@dataclass(frozen=True)
class KafkaJobSettings:
    """Where the Kafka-mode job reads and writes. Every topic name can be set, so one
    cluster can carry several environments; `reference_prefix` + list name is the
    compacted topic of one reference list (new lists are picked up as they appear)."""

    bootstrap_servers: str = "127.0.0.1:9092"
    registry_url: str = "http://127.0.0.1:8080/apis/ccompat/v7"
    reads_topic: str = "plate-reads"
    reference_prefix: str = "ref."
    cameras_topic: str = "cameras"
    hits_topic: str = "hits"
    dead_letter_topic: str = "plate-reads.dlq"
    group_id: str = "feblam-hit-generation"
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    parallelism: int | None = None
    dedup_retention_ms: int = 48 * 3600 * 1000
    history: str | None = None
    # Reads and reference updates enter Python in batches (connectors.kafka.record_batches):
    # at most this many records, and none waits longer than this for its batch to close.
    batch_records: int = 500
    batch_delay_ms: int = 20

    @property
    def reference_pattern(self) -> str:
        """Every reference topic and the camera topic, as one anchored regex."""
        import re

        return f"({re.escape(self.reference_prefix)}.+|{re.escape(self.cameras_topic)})"


def build_kafka_job(env: StreamExecutionEnvironment, settings: KafkaJobSettings) -> None:
    """Wire the job on Kafka: reads and reference topics in, hits and dead letters out."""
    from connectors.contracts import register
    from connectors.registry import RegistryClient

    registry = RegistryClient(settings.registry_url)
    for topic, contract in ((settings.reads_topic, "PlateRead"), (settings.hits_topic, "Hit"),
                            (settings.dead_letter_topic, "DeadLetter")):
        register(registry, topic, contract)
    startup = startup_positions(settings.bootstrap_servers, settings.reference_pattern)
    matching = settings.matching

    raw_reads = env.from_source(
        record_source(settings.bootstrap_servers, f"{settings.group_id}.reads", topics=[settings.reads_topic]),
        WatermarkStrategy.no_watermarks(), "plate-reads", type_info=RECORD_TYPE,
    ).uid("source-plate-reads")
    raw_updates = env.from_source(
        record_source(settings.bootstrap_servers, f"{settings.group_id}.reference", pattern=settings.reference_pattern,
                      from_earliest=True),
        WatermarkStrategy.no_watermarks(), "reference-and-cameras", type_info=RECORD_TYPE,
    ).uid("source-reference").set_parallelism(1)
    updates = (
        record_batches(raw_updates, settings.batch_records, settings.batch_delay_ms, "reference-batches")
        .broadcast(REFERENCE_STATE)
    )

    matched = (
        batched_by_subtask(raw_reads, settings.batch_records, settings.batch_delay_ms, "read-batches")
        .connect(updates)
        .process(DecodeAndMatch(matching, startup, settings.bootstrap_servers, settings.reference_pattern,
                                settings.registry_url, settings.reference_prefix, settings.cameras_topic,
                                settings.hits_topic, settings.dead_letter_topic,
                                history=settings.history is not None))
        .name("decode-and-match").uid("decode-and-match")
    )
    dead_letters = matched.get_side_output(KAFKA_DEAD_LETTERS)
    kafka = {"registry_url": settings.registry_url, "hits_topic": settings.hits_topic,
             "dead_letter_topic": settings.dead_letter_topic}
    hits = (
        matched.key_by(dedup_key_text, key_type=Types.STRING())
        .process(Deduplicate(kafka, settings.dedup_retention_ms, history=settings.history is not None),
                 output_type=OUTGOING_TYPE)
        .name("deduplicate").uid("deduplicate")
    )
    hits.union(dead_letters).sink_to(record_sink(settings.bootstrap_servers)).name("hits-and-dead-letters").uid("sink")
    if settings.history is not None:
        attach_history(env, settings.history, matched.get_side_output(HISTORY_READS),
                       hits.get_side_output(HISTORY_HITS), hits.get_side_output(HISTORY_SIGHTINGS))


def main(argv: list[str] | None = None) -> int:
    import argparse

    from jobs.environment import JobHelpFormatter, add_deployment_arguments

    defaults = KafkaJobSettings()
    parser = argparse.ArgumentParser(
        prog="hit_generation.py",
        description="FEBLAM's hit-generation job on Kafka. Submit it with "
        "`feblam submit jobs/hit_generation.py -- [options]`; it runs until cancelled.",
        formatter_class=JobHelpFormatter,
    )
    parser.add_argument("--bootstrap-servers", default=defaults.bootstrap_servers, help="Kafka bootstrap servers")
    parser.add_argument("--registry-url", default=defaults.registry_url, help="schema registry (Confluent-compatible API)")
    parser.add_argument("--reads-topic", default=defaults.reads_topic, help="plate reads, Avro PlateRead")
    parser.add_argument("--reference-prefix", default=defaults.reference_prefix,
                        help="reference lists are the compacted topics <prefix><list name>, Avro ReferenceEntry")
    parser.add_argument("--cameras-topic", default=defaults.cameras_topic, help="the camera registry, compacted, Avro Camera")
    parser.add_argument("--hits-topic", default=defaults.hits_topic, help="where hits go, Avro Hit, key = dedup key")
    parser.add_argument("--dead-letter-topic", default=defaults.dead_letter_topic, help="where invalid reads go, Avro DeadLetter")
    parser.add_argument("--group-id", default=defaults.group_id, help="consumer group prefix (offsets are kept in Flink checkpoints)")
    parser.add_argument("--config", type=Path, help="list configuration (YAML); the spec's defaults otherwise")
    parser.add_argument("--history", help="root of the Parquet history (a path or URI the cluster can write); none if unset")
    add_deployment_arguments(parser)
    args = parser.parse_args(argv)

    from udfs.config import load_settings

    settings = KafkaJobSettings(
        args.bootstrap_servers, args.registry_url, args.reads_topic, args.reference_prefix, args.cameras_topic,
        args.hits_topic, args.dead_letter_topic, args.group_id,
        load_settings(args.config) if args.config else MatchingSettings(), args.parallelism,
        history=args.history,
    )
    env = execution_environment(embedded=args.embedded, parallelism=settings.parallelism, jars=args.jars)
    build_kafka_job(env, settings)
    env.execute("feblam-hit-generation")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
