"""`feblam ingest`: the stage in front of the hit-generation job that turns vendor
payloads into canonical PlateRead records.

A plain Python process (confluent-kafka, no Flink): it reads vendor topics or a
drop folder, decodes each payload with a read connector
(`connectors.sources`), validates it with the job's own rules, and writes
canonical Avro reads to the reads topic the job consumes, or DeadLetter records
(original bytes, reason, position) to the dead-letter topic. Why a stage and
not a decoder inside the job: docs/operations.md, "Ingest".
"""

from __future__ import annotations

import threading

from connectors.registry import RegistryClient
from connectors.sources.base import ConnectorContext, FolderConnector, TopicConnector
from connectors.sources.discovery import discover
from ingest.counters import IngestCounters, Progress
from ingest.settings import IngestSettings, IngestSettingsError
from ingest.writer import CanonicalWriter


def run_ingest(settings: IngestSettings, stop: threading.Event | None = None,
               counters: IngestCounters | None = None, progress_out=None) -> IngestCounters:
    """Run one ingest process until `stop` is set, the input is drained (`once`) or
    idle (`max_idle_s`); returns the counters. Raises `UnknownConnectorError`,
    `IngestSettingsError`, `DeliveryError`, `ConnectorError`, Kafka and registry errors."""
    stop = stop or threading.Event()
    counters = counters or IngestCounters()
    info = discover().get(settings.connector)
    registry = RegistryClient(settings.registry_url)
    connector = info.create(ConnectorContext(registry=registry, options=dict(settings.options)))
    if isinstance(connector, FolderConnector) != (settings.folder is not None):
        where = "a drop folder (--folder)" if isinstance(connector, FolderConnector) else "vendor topics (--topic)"
        raise IngestSettingsError(f"connector {settings.connector!r} is of kind {connector.kind}: give it {where}")
    if not isinstance(connector, (FolderConnector, TopicConnector)):
        raise IngestSettingsError(f"connector {settings.connector!r} is neither a TopicConnector nor a FolderConnector")
    writer = CanonicalWriter(settings.bootstrap_servers, registry, settings.reads_topic,
                             settings.dead_letter_topic, counters)
    progress = Progress(counters, settings.connector, settings.progress_s, progress_out)
    if isinstance(connector, FolderConnector):
        from ingest.folder import FolderIngest

        FolderIngest(settings, connector, writer, counters, progress, stop).run()
    else:
        from ingest.topics import TopicIngest

        TopicIngest(settings, connector, writer, counters, progress, stop).run()
    writer.flush()
    progress.print()
    return counters
