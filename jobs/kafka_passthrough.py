"""A minimal Kafka-to-Kafka PyFlink job: the smoke test of the whole stack.

Reads every record present on `--input` when the job starts (a bounded Kafka
source, so the job ends by itself), passes each through a Python map that
upper-cases it (proving the Python worker runs, in thread mode, with the
virtualenv's interpreter), and writes it to `--output`.

Runs embedded (`python jobs/kafka_passthrough.py --embedded ...`), on the
local stack's cluster (`feblam submit jobs/kafka_passthrough.py -- ...`) or on
any Flink cluster (`flink run -py`, docs/operations.md).
"""

from __future__ import annotations

import argparse
import sys

from pyflink.common import Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import (
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)

from jobs.environment import JobHelpFormatter, add_deployment_arguments, execution_environment


def build(env: StreamExecutionEnvironment, bootstrap: str, input_topic: str, output_topic: str, group: str) -> None:
    from connectors.kafka import SHADED_KAFKA_PACKAGE
    from connectors.kafka_security import KafkaSecurity

    # Of a secured cluster: its TLS and SASL settings, as Java client properties.
    security = KafkaSecurity.resolve(bootstrap).java_properties(SHADED_KAFKA_PACKAGE)
    source_builder = (
        KafkaSource.builder()
        .set_bootstrap_servers(bootstrap)
        .set_topics(input_topic)
        .set_group_id(group)
        .set_starting_offsets(KafkaOffsetsInitializer.earliest())
        .set_bounded(KafkaOffsetsInitializer.latest())
        .set_value_only_deserializer(SimpleStringSchema())
    )
    sink_builder = (
        KafkaSink.builder()
        .set_bootstrap_servers(bootstrap)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder()
            .set_topic(output_topic)
            .set_value_serialization_schema(SimpleStringSchema())
            .build()
        )
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
    )
    for key, value in security.items():
        source_builder.set_property(key, value)
        sink_builder.set_property(key, value)
    source, sink = source_builder.build(), sink_builder.build()
    (
        env.from_source(source, WatermarkStrategy.no_watermarks(), "input")
        .map(str.upper, output_type=Types.STRING())
        .name("upper-case")
        .sink_to(sink)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kafka_passthrough.py", description=__doc__, formatter_class=JobHelpFormatter)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--input", required=True, help="topic to read")
    parser.add_argument("--output", required=True, help="topic to write")
    parser.add_argument("--group", default="feblam-passthrough", help="consumer group id")
    add_deployment_arguments(parser)
    args = parser.parse_args(argv)

    env = execution_environment(args.embedded, args.parallelism, args.jars)
    build(env, args.bootstrap_servers, args.input, args.output, args.group)
    env.execute("feblam-kafka-passthrough")
    return 0


if __name__ == "__main__":
    sys.exit(main())
