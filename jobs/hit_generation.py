"""The hit-generation job: plate reads in, scored and de-duplicated hits out.

    reads ──NumberAndParse──keyBy(OCR-class key)──┐           ┌─▶ hits
      (p=1)          └─dead letters─▶              Match ──keyBy(dedup key)──Deduplicate
    reference updates + cameras ──broadcast────────┘                          └─▶ sightings

This module is wiring only: the semantics live in `udfs` (spec
../shared/spec/hit-semantics.md), the Flink shells in `jobs.operators`.

File mode (`run_files`) runs on the embedded mini-cluster over the JSON Lines
files of spec §10 and returns when the input is exhausted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pyflink.common import Types, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.file_system import FileSource, StreamFormat

from jobs.environment import execution_environment
from jobs.operators import (
    CAMERA,
    DEAD_LETTERS,
    OUTPUT_TYPE,
    REFERENCE,
    REFERENCE_STATE,
    REFUSED,
    Deduplicate,
    Match,
    NumberAndParse,
    dedup_key_text,
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

    def __post_init__(self) -> None:
        for name in ("reads", "reference", "cameras"):
            path = getattr(self, name)
            if not Path(path).is_file():
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
        .process(NumberAndParse(matching)).name("number-and-parse").set_parallelism(1)
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
        .process(Deduplicate(), output_type=OUTPUT_TYPE).name("deduplicate")
    )
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
    letters (JSON Lines, in the order of the reads that made them) and return them."""
    env = execution_environment(embedded=True, parallelism=settings.parallelism)
    outputs = build_file_job(env, settings)
    with outputs.execute_and_collect("feblam-hit-generation-files") as results:
        summary = collect(list(results))
    summary.hits.sort(key=lambda h: (h["event_time"], h["hit_id"]))
    summary.dead_letters.sort(key=lambda d: d.get("position") or 0)
    _write_jsonl(settings.hits, summary.hits)
    _write_jsonl(settings.dead_letters, summary.dead_letters)
    return summary
