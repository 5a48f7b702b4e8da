"""``feblam bench encoder``: FEBLAM's Avro encoder (`connectors.avro.AvroEncoder`,
fastavro's schemaless writer behind a fixed 5-byte header) against
confluent-kafka's `AvroSerializer`, on the same records and schema id.

The serializer is set up as a producer of FEBLAM would use it: the schema
looked up, not registered (`auto.register.schemas` off), the topic-name subject,
no rules. Its registry is the library's in-memory one (``mock://``), so nothing
here touches the network and the first call's look-up is not what is timed.
Both encoders must give the same bytes; each pass encodes every record once
with each encoder in turn (interleaved, so a busy neighbour slows both), and
the figures are microseconds per record: the best pass, the median, and the
median over the process's CPU time.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time

import schemas
from connectors.avro import AvroEncoder

SUBJECT = "hits-value"


def hit_like(i: int) -> dict:
    """A Hit as the job writes it: an OCR hit on an alert list with a three-factor explanation."""
    return {
        "hit_id": f"{i:032x}", "read_id": f"R-{i:09d}", "list_name": "stolen_vehicles", "entry_id": f"E-{i % 5000}",
        "match_kind": "OCR", "substitutions": 1, "severity": 80, "zone": None, "score": 74, "priority": "P2",
        "explanation": [{"factor": "severity", "value": 80.0}, {"factor": "ocr_substitutions", "value": -6.0},
                        {"factor": "score", "value": 74.0}],
        "event_time": 1_772_352_900_000 + i, "camera_id": f"ANPR-{i % 900:04d}", "plate": "1ABC123",
        "plate_text": "1-ABC-123", "country": "B", "ocr_confidence": 0.93, "dedup_key": f"1ABC123|E-{i % 5000}",
        "sightings": 1, "attributes": {"case": f"PV-{i % 5000}"},
    }


def _library_serializer(schema: dict):
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    registry = SchemaRegistryClient.new_client({"url": "mock://feblam-bench"})
    schema_id = registry.register_schema(SUBJECT, Schema(json.dumps(schema), "AVRO"))
    serializer = AvroSerializer(registry, json.dumps(schema), conf={
        "auto.register.schemas": False, "subject.name.strategy": lambda ctx, record_name: SUBJECT})
    context = SerializationContext("hits", MessageField.VALUE)
    return schema_id, lambda record: serializer(record, context)


def run(records: int = 100_000, passes: int = 5) -> dict:
    schema = schemas.load("Hit")
    schema_id, library = _library_serializer(schema)
    feblam = AvroEncoder(schema_id, schema).encode
    data = [hit_like(i) for i in range(records)]
    for record in data[:1000]:
        if feblam(record) != library(record):
            raise AssertionError("the two encoders do not give the same bytes")
    wall: dict[str, list[float]] = {"feblam": [], "library": []}
    cpu: dict[str, list[float]] = {"feblam": [], "library": []}
    for _ in range(passes):
        for name, encode in (("feblam", feblam), ("library", library)):
            started, started_cpu = time.perf_counter(), time.process_time()
            for record in data:
                encode(record)
            wall[name].append((time.perf_counter() - started) / records * 1e6)
            cpu[name].append((time.process_time() - started_cpu) / records * 1e6)
    result: dict = {"records": records, "passes": passes}
    for name in ("feblam", "library"):
        result[f"{name}_us_best"] = round(min(wall[name]), 2)
        result[f"{name}_us_median"] = round(statistics.median(wall[name]), 2)
        result[f"{name}_cpu_us_median"] = round(statistics.median(cpu[name]), 2)
    result["library_over_feblam"] = round(result["library_cpu_us_median"] / result["feblam_cpu_us_median"], 3)
    result["cpu"] = platform.processor() or platform.machine()
    result["load_average"] = round(os.getloadavg()[0], 2)
    return result
