"""Files in and out of the hit-generation job: the file mode's sources and sink.

The file mode runs the Kafka mode's chain. Its inputs are the records of
`org.feblam.flink.LineRecords` (the Kafka envelope, a line's number as its
offset); its outputs are the chain's (topic, key, value) records, written by
one file sink into one folder per output topic (`org.feblam.flink.OutputBuckets`)
and merged into the run's files afterwards (`connectors.file_outputs`).
`FileFeed` gives the reference files' ends and reads them again after a
restore, as `connectors.kafka_reading.KafkaFeed` does for the reference topics.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pyflink.common import WatermarkStrategy
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.file_system import (
    BucketAssigner,
    FileSink,
    FileSource,
    OutputFileConfig,
    RollingPolicy,
    StreamFormat,
)
from pyflink.common.serialization import Encoder
from pyflink.java_gateway import get_gateway

from connectors.kafka import RECORD_TYPE
from udfs.startup import StartupPositions

FIRST_LINE = 1


def line_source(env: StreamExecutionEnvironment, path: Path, topic: str, first_line: int = FIRST_LINE) -> DataStream:
    """Every line of `path` from `first_line` on as a record of `topic` (RECORD_TYPE), in
    file order: one reader, since spec §10 applies reference updates in file order and
    the reads keep file order up to de-duplication."""
    j_format = get_gateway().jvm.org.feblam.flink.LineRecords(topic, first_line)
    source = FileSource.for_record_stream_format(StreamFormat(j_format), str(Path(path).resolve())).build()
    return env.from_source(source, WatermarkStrategy.no_watermarks(), topic, type_info=RECORD_TYPE).set_parallelism(1)


# A part file's largest size: `connectors.file_outputs` sorts one in memory at a time.
PART_SIZE = 16 * 1024 * 1024


def output_sink(work_dir: Path) -> FileSink:
    """The job's outputs as lines under `work_dir/<topic>/part-*`, committed at each
    checkpoint and at the end of input (so a restart neither loses nor repeats one)."""
    jvm = get_gateway().jvm
    return (
        FileSink.for_row_format(Path(work_dir).resolve().as_uri(), Encoder(jvm.org.feblam.flink.OutputLines()))
        .with_bucket_assigner(BucketAssigner(jvm.org.feblam.flink.OutputBuckets()))
        .with_output_file_config(OutputFileConfig.builder().with_part_prefix("part").build())
        .with_rolling_policy(RollingPolicy.default_rolling_policy(part_size=PART_SIZE))
        .build()
    )


class FileFeed:
    """The reference and camera files of one run, by the topic names their sources
    carry. A file is one partition (0) whose offsets are its line numbers."""

    def __init__(self, files: dict[str, Path]):
        self.files = {topic: str(Path(path).resolve()) for topic, path in files.items()}

    def ends(self) -> StartupPositions:
        """Spec §8 on files: every line of every file, blank ones included."""
        ends, starts = {}, {}
        for topic, path in self.files.items():
            with open(path, "rb") as lines:
                count = sum(1 for _ in lines)
            ends[(topic, 0)] = FIRST_LINE + count
            starts[(topic, 0)] = FIRST_LINE
        return StartupPositions(ends, starts)

    def replay(self, upto: dict[tuple[str, int], int], since: dict[tuple[str, int], int] | None = None,
               ) -> Iterator[tuple[str, int, int, bytes | None, bytes]]:
        """The lines of each file up to and including the line given for it, as records;
        with `since`, only those after the line it gives (a snapshot's)."""
        since = since or {}
        for (topic, partition), last in upto.items():
            first = since.get((topic, partition), FIRST_LINE - 1)
            with open(self.files[topic], "rb") as lines:
                for number, line in enumerate(lines, FIRST_LINE):
                    if number > last:
                        break
                    if number > first:
                        yield topic, partition, number, None, line.rstrip(b"\r\n")
