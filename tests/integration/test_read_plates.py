"""org.feblam.flink.ReadPlates, the Java side of where a read is handled, held to
Python's rules: its canonical plate is `udfs.normalise.canon`'s and its bucket
`udfs.platecode.OcrClasses.bucket`'s, on generated text, on JSON lines and on Avro
records in the Confluent wire format through the real registry."""

from __future__ import annotations

import base64
import json
import random
import struct
import subprocess
import unicodedata
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import schemas
from feblam.stack.java import java_home
from connectors.avro import AvroEncoder
from connectors.registry import RegistryClient
from jobs.flinkconf import CHECKOUT_ROOT
from udfs.config import DEFAULT_OCR_CLASSES
from udfs.normalise import canon
from udfs.platecode import OcrClasses

BUCKETS = 16
# The JVM the Flink cluster runs on (scripts/stack), whose Unicode the job's key has.
FLINK_JAVA = java_home(17, "FEBLAM_FLINK_JAVA_HOME") / "bin" / "java"
CLASSES = OcrClasses(DEFAULT_OCR_CLASSES)


def _classpath() -> str:
    import pyflink

    lib = CHECKOUT_ROOT / "var" / "lib"
    jars = [lib / "flink-jars" / "feblam-flink-records-0.1.0.jar",
            *sorted((lib / "flink-jars").glob("flink-sql-avro-confluent-registry-*.jar")),
            *sorted((lib / "baseline-jars").glob("flink-sql-avro-confluent-registry-*.jar"))]
    dist = sorted((Path(pyflink.__file__).parent / "lib").glob("flink-dist-*.jar"))
    missing = [str(jar) for jar in jars[:1] if not jar.is_file()]
    assert not missing, f"run scripts/setup first: {missing}"
    return ":".join(str(jar) for jar in [*jars, *dist])


def java(mode: str, values: list[bytes]) -> list[str]:
    """ReadPlates.main over `values`, one answer line each."""
    lines = "".join(base64.b64encode(value).decode("ascii") + "\n" for value in values)
    done = subprocess.run([str(FLINK_JAVA), "-cp", _classpath(), "org.feblam.flink.ReadPlates", mode, str(BUCKETS),
                           *DEFAULT_OCR_CLASSES], input=lines.encode("ascii"), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    answers = done.stdout.decode("utf-8").split("\n")[:-1]
    assert len(answers) == len(values)
    return answers


def in_both(text: str, java_defined: str) -> bool:
    """Whether both Unicode versions have every character of `text`: one that only the
    newer has may decompose there alone (Java 17: Unicode 13; Python 3.11: 14)."""
    return java_defined == "1" and all(unicodedata.category(c) != "Cn" for c in text)


def python_bucket(text: str) -> int:
    return CLASSES.bucket(canon(text), BUCKETS)


def _texts(seed: int, count: int) -> list[str]:
    """Plates as cameras and people write them, and text from all over the Basic
    Multilingual Plane (surrogates aside: they are not text)."""
    rng = random.Random(seed)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -.·ÄÖÜäöüÉÈÊéèêÇçßÅåØøÆæŁłŽžŠšČčİıﬁﬀ①²"
    texts = []
    for _ in range(count):
        if rng.random() < 0.5:
            texts.append("".join(rng.choice(letters) for _ in range(rng.randint(0, 12))))
        else:
            points = [rng.choice((rng.randint(0x20, 0x2FF), rng.randint(0x300, 0xFFFD))) for _ in range(rng.randint(0, 10))]
            texts.append("".join(chr(p) for p in points if not 0xD800 <= p <= 0xDFFF))
    return texts


def test_canonical_plates_and_buckets_are_pythons():
    texts = _texts(7, 20_000) + ["1-abc-123", "1 ABC 123", "ÄBÇ 12ß", "ﬁ0o", "", "---", "ŉ", "Ⅻ"]
    answers = [a.rsplit("\t", 1) for a in java("text", [t.encode("utf-8") for t in texts])]
    # The job counts a read with a character only one side's Unicode has (`in_both`).
    known = [(t, a) for t, (a, defined) in zip(texts, answers) if in_both(t, defined)]
    assert len(known) > 0.95 * len(texts)
    wrong = [(t, a) for t, a in known if a != f"{canon(t)}\t{python_bucket(t)}"]
    assert not wrong, wrong[:10]


@settings(max_examples=5, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=16), min_size=50, max_size=300))
def test_any_text_gets_pythons_plate_and_bucket(texts):
    answers = [a.rsplit("\t", 1) for a in java("text", [t.encode("utf-8") for t in texts])]
    both = [(t, a) for t, (a, defined) in zip(texts, answers) if in_both(t, defined)]
    assert [a for _, a in both] == [f"{canon(t)}\t{python_bucket(t)}" for t, _ in both]


def test_buckets_of_confusable_plates_are_one():
    answers = java("text", [b"1AB0C5", b"IAB0CS", b"1A8OC5", b"1ABQC5"])
    assert len({answer.split("\t")[1] for answer in answers}) == 1


def test_json_lines():
    read = {"read_id": "r1", "camera_id": "c1", "event_time": "2026-03-01T08:00:00Z", "ocr_confidence": 0.9}
    values = [
        json.dumps({**read, "plate_text": "1-abc-123"}).encode(),
        json.dumps({"nested": {"plate_text": "X"}, **read, "plate_text": "ÄBC 9"}).encode(),
        b'{"plate_text": "FIRST", "plate_text": "2-XYZ-999", "x": [1, {"plate_text": "no"}], "y": NaN}',
        json.dumps({**read, "plate_text": 123}).encode(),
        json.dumps({**read}).encode(),
        b"not json",
        b"[1, 2]",
        b"",
        b"   ",
        '{"plate_text": "Ä-1"}'.encode("utf-8"),
    ]
    expected = [python_bucket("1-abc-123"), python_bucket("ÄBC 9"), python_bucket("2-XYZ-999"),
                -1, -1, -1, -1, -1, -1, python_bucket("Ä-1")]
    assert [int(a) for a in java("json-lines", values)] == expected


def test_avro_records_through_the_registry(stack):
    registry = RegistryClient(stack.schema_registry_url)
    contract = schemas.load("PlateRead")
    subject = f"read-plates-{uuid.uuid4().hex[:8]}-value"
    encoder = AvroEncoder(registry.register(subject, contract), contract)
    # Another writer: the same record with its fields in another order and one more field.
    reordered = {**contract, "fields": [{"name": "lane", "type": ["null", "int"], "default": None},
                                        *reversed(contract["fields"])]}
    other_subject = f"read-plates-{uuid.uuid4().hex[:8]}-value"
    other = AvroEncoder(registry.register(other_subject, reordered), reordered)
    read = {"read_id": "r1", "camera_id": "c1", "event_time": 1772352900250, "plate_text": "1-abc-123",
            "plate_country": "B", "ocr_confidence": 0.93}
    values = [
        encoder.encode(read),
        encoder.encode({**read, "plate_text": "ÄBÇ 12ß"}),
        other.encode({**read, "plate_text": "2-XYZ-999", "lane": 3}),
        b"\x00" + struct.pack(">i", 2_000_000_000) + b"\x02x",   # an id the registry does not know
        b"\x01" + encoder.encode(read)[1:],                      # not the wire format's magic byte
        encoder.encode(read)[:7],                                # cut short
        b"",
    ]
    expected = [python_bucket("1-abc-123"), python_bucket("ÄBÇ 12ß"), python_bucket("2-XYZ-999"), -1, -1, -1, -1]
    assert [int(a) for a in java(f"avro-confluent={stack.schema_registry_url}", values)] == expected
