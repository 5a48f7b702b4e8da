"""The benchmark's baseline: the exact-match join a data engineer writes in Flink SQL.

Plate reads (Avro PlateRead) joined with every reference topic (Avro
ReferenceEntry) on the plate with spaces and dashes removed, one output row per
matching (read, entry), as JSON on the output topic. No OCR variants, no
wildcards, no validity windows, no LEZ decisions, no scoring, no de-duplication:
what `feblam bench e2e` compares FEBLAM's hit-generation job with. It needs the
avro-confluent format jar of var/lib/baseline-jars (maven/pom.xml) besides
the connector jars; pass both with --jars when it runs outside a checkout.

    feblam submit jobs/baseline_sql_join.py -- --reads-topic R --reference-pattern 'ref\\..*' --output-topic O
"""

from __future__ import annotations

import argparse
import sys


def _options(options: dict[str, str]) -> str:
    return "".join(f", '{key}' = '{value}'" for key, value in options.items())


def security_options(bootstrap_servers: str, registry_url: str) -> tuple[str, str]:
    """The WITH options (each with a leading comma; empty for a plain cluster) that
    give the Kafka tables the Kafka security settings and the avro-confluent format
    the registry's credentials and CA, from the same configuration as the other
    jobs (connectors.kafka_security, RegistrySettings.from_env)."""
    from connectors.kafka import SHADED_KAFKA_PACKAGE
    from connectors.kafka_security import KafkaSecurity
    from connectors.registry import RegistrySettings

    kafka = {f"properties.{key}": value for key, value in
             KafkaSecurity.resolve(bootstrap_servers).java_properties(SHADED_KAFKA_PACKAGE).items()}
    registry, settings = {}, RegistrySettings.from_env(registry_url)
    if settings.basic_auth_user_info:
        registry["avro-confluent.basic-auth.credentials-source"] = "USER_INFO"
        registry["avro-confluent.basic-auth.user-info"] = settings.basic_auth_user_info
    if settings.ssl_ca_location:
        registry["avro-confluent.properties.schema.registry.ssl.truststore.type"] = "PEM"
        registry["avro-confluent.properties.schema.registry.ssl.truststore.location"] = settings.ssl_ca_location
    # A quote would end the SQL string: the stack's passwords have none, and another's is refused.
    if any("'" in value for value in (*kafka.values(), *registry.values())):
        raise ValueError("a Kafka or registry credential holds a quote, which a SQL table option cannot carry")
    return _options(kafka), _options(registry)


def statements(args) -> list[str]:
    kafka_security, registry_security = security_options(args.bootstrap_servers, args.registry_url)
    kafka = (f"'connector' = 'kafka', 'properties.bootstrap.servers' = '{args.bootstrap_servers}', "
             f"'properties.group.id' = '{args.group_id}', 'scan.startup.mode' = 'earliest-offset'{kafka_security}")
    avro = f"'format' = 'avro-confluent', 'avro-confluent.url' = '{args.registry_url}'{registry_security}"
    return [
        f"""CREATE TABLE plate_reads (
              read_id STRING, camera_id STRING, plate_text STRING, ocr_confidence DOUBLE
            ) WITH ({kafka}, 'topic' = '{args.reads_topic}', {avro})""",
        f"""CREATE TABLE reference_entries (
              list_name STRING, entry_id STRING, op STRING, plate STRING, severity INT
            ) WITH ({kafka}, 'topic-pattern' = '{args.reference_pattern}', {avro})""",
        f"""CREATE TABLE hits (
              read_id STRING, camera_id STRING, plate_text STRING, list_name STRING, entry_id STRING, severity INT
            ) WITH ('connector' = 'kafka', 'properties.bootstrap.servers' = '{args.bootstrap_servers}',
                    'topic' = '{args.output_topic}', 'format' = 'json',
                    'sink.delivery-guarantee' = 'at-least-once'{kafka_security})""",
        """INSERT INTO hits
           SELECT r.read_id, r.camera_id, r.plate_text, e.list_name, e.entry_id, e.severity
           FROM plate_reads AS r
           JOIN reference_entries AS e
             ON REGEXP_REPLACE(UPPER(r.plate_text), '[^A-Z0-9]', '') = REGEXP_REPLACE(UPPER(e.plate), '[^A-Z0-9]', '')
           WHERE e.op = 'UPSERT'""",
    ]


def main(argv: list[str] | None = None) -> int:
    from jobs.environment import JobHelpFormatter, add_deployment_arguments, execution_environment
    from jobs.jars import CONNECTOR_JAR_DIRS, connector_jars

    parser = argparse.ArgumentParser(prog="baseline_sql_join.py", description=__doc__, formatter_class=JobHelpFormatter)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--registry-url", default="http://127.0.0.1:8080/apis/ccompat/v7",
                        help="schema registry (Confluent-compatible API)")
    parser.add_argument("--reads-topic", default="plate-reads", help="plate reads, Avro PlateRead")
    parser.add_argument("--reference-pattern", default=r"ref\..*", help="regex of the reference topics")
    parser.add_argument("--output-topic", default="baseline-hits", help="where the joined rows go, JSON")
    parser.add_argument("--group-id", default="feblam-baseline", help="consumer group id")
    add_deployment_arguments(parser)
    args = parser.parse_args(argv)

    from pyflink.table import StreamTableEnvironment

    # The Table API takes its jars from the table config (merged into the environment's,
    # without repeats, before a statement runs): both get the same list.
    jars = connector_jars(args.jars, (*CONNECTOR_JAR_DIRS, "baseline-jars"))
    env = execution_environment(args.embedded, args.parallelism, jars)
    tables = StreamTableEnvironment.create(env)
    tables.get_config().set("pipeline.name", "feblam-baseline-sql-join")
    tables.get_config().set("pipeline.jars", ";".join(jars))
    *ddl, insert = statements(args)
    for statement in ddl:
        tables.execute_sql(statement)
    result = tables.execute_sql(insert)  # submits; returns at once on a cluster (detached)
    if args.embedded:
        result.wait()  # the mini-cluster lives as long as this process
    return 0


if __name__ == "__main__":
    sys.exit(main())
