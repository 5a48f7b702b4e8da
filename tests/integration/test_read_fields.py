"""org.feblam.flink.ReadFields, reads decoded in Java, held to Python's decoder
(connectors.avro.AvroDecoder, fastavro) through the real registry: every record it
decodes gives fastavro's dict, every record fastavro refuses it leaves to Python,
and every plain record of the contract it does decode. Broken records are made from
good ones: cut short, with bytes added, bytes changed, bad UTF-8, a wrong header."""

from __future__ import annotations

import base64
import math
import pickle
import random
import subprocess
import uuid

import pytest
from hypothesis import given, settings, strategies as st

import schemas
from connectors.avro import AvroDecodeError, AvroDecoder, AvroEncoder
from connectors.read_fields import ReadFieldsSpec
from connectors.registry import RegistryClient
from feblam.stack.java import java_home
from jobs.flinkconf import CHECKOUT_ROOT

FLINK_JAVA = java_home(17, "FEBLAM_FLINK_JAVA_HOME") / "bin" / "java"
JAR = CHECKOUT_ROOT / "var" / "lib" / "flink-jars" / "feblam-flink-records-0.1.0.jar"
CONTRACT = schemas.load("PlateRead")


def java(spec: ReadFieldsSpec, values: list[bytes | None]) -> list[dict | None]:
    """ReadFields.main over `values`: the unpickled list, one item per value."""
    assert JAR.is_file(), "run scripts/setup first"
    lines = "".join("-\n" if v is None else base64.b64encode(v).decode("ascii") + "\n" for v in values)
    args = [",".join(map(str, spec.schema_ids)), *(f"{n}:{t}" for n, t in zip(spec.names, spec.types))]
    done = subprocess.run([str(FLINK_JAVA), "-cp", str(JAR), "org.feblam.flink.ReadFields", *args],
                          input=lines.encode("ascii"), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    decoded = pickle.loads(base64.b64decode(done.stdout.strip()))
    assert len(decoded) == len(values)
    return decoded


def python(decoder: AvroDecoder, value: bytes | None) -> dict | None:
    """fastavro's dict of `value`, or None when the job would make it a dead letter."""
    try:
        return decoder.decode(value)
    except AvroDecodeError:
        return None


def same(a: dict, b: dict) -> bool:
    """Equal dicts, NaN equal to NaN, and of the same types (an int is not a float)."""
    return a.keys() == b.keys() and all(
        type(a[k]) is type(b[k]) and (a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])))
        for k in a)


@pytest.fixture(scope="module")
def contract(stack):
    """(encoder, Python's decoder, the spec) for the contract under a subject of its own."""
    registry = RegistryClient(stack.schema_registry_url)
    schema_id = registry.register(f"read-fields-{uuid.uuid4().hex[:8]}-value", CONTRACT)
    decoder = AvroDecoder(registry, CONTRACT, millis=True)
    assert decoder.reads_as_is(schema_id)
    return AvroEncoder(schema_id, CONTRACT), decoder, ReadFieldsSpec.of(CONTRACT, [schema_id])


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
OPTIONAL = st.none() | TEXT
READS = st.fixed_dictionaries({
    "read_id": TEXT, "camera_id": TEXT, "event_time": st.integers(-(2 ** 63), 2 ** 63 - 1), "plate_text": TEXT,
    "plate_country": OPTIONAL, "ocr_confidence": st.floats(allow_nan=True, allow_infinity=True),
    "make": OPTIONAL, "colour": OPTIONAL, "vehicle_type": OPTIONAL, "image_ref": OPTIONAL, "source": OPTIONAL})


def broken(rng: random.Random, good: bytes) -> bytes:
    """`good` spoilt one way or another."""
    way = rng.randrange(6)
    if way == 0:
        return good[:rng.randrange(len(good))]
    if way == 1:
        return good + bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
    if way == 2:
        at = rng.randrange(5, len(good))
        return good[:at] + bytes([rng.randrange(256)]) + good[at + 1:]
    if way == 3:   # bytes no UTF-8 text has, or a surrogate, inside the body
        at = rng.randrange(5, len(good))
        return good[:at] + rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]) + good[at + 1:]
    if way == 4:
        return rng.choice([b"\x01", b"\x00\x00\x00\x00\x00"]) + good[1:]
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))


@settings(max_examples=4, deadline=None)
@given(st.lists(READS, min_size=50, max_size=200), st.integers(0, 2 ** 32))
def test_java_gives_fastavros_dict_or_leaves_the_record_to_python(contract, reads, seed):
    encoder, decoder, spec = contract
    rng = random.Random(seed)
    good = [encoder.encode(read) for read in reads]
    values = good + [broken(rng, rng.choice(good)) for _ in range(4 * len(good))] + [None, b""]
    decoded = java(spec, values)
    # Every plain record of the contract is decoded in Java.
    assert all(item is not None for item in decoded[:len(good)])
    for value, item in zip(values, decoded):
        expected = python(decoder, value)
        if item is not None:
            assert expected is not None and same(item, expected), (value, item, expected)
    # And the broken ones did exercise both sides of the rule.
    refused = sum(python(decoder, v) is None for v in values[len(good):])
    assert 0 < refused < len(values) - len(good)


def test_edge_values_and_other_ids(contract):
    encoder, decoder, spec = contract
    read = {"read_id": "r1", "camera_id": "c1", "event_time": 1772352900250, "plate_text": "1-abc-123",
            "plate_country": None, "ocr_confidence": 0.93, "make": "Škoda", "colour": "🚗", "vehicle_type": "",
            "image_ref": None, "source": "x" * 70_000}
    plain = encoder.encode(read)
    other_id = AvroEncoder(spec.schema_ids[0] + 1_000_000, CONTRACT).encode(read)
    values = [plain, encoder.encode({**read, "event_time": -(2 ** 63)}), encoder.encode({**read, "ocr_confidence": -0.0}),
              other_id, plain + b"\x00", plain[:-1]]
    decoded = java(spec, values)
    assert same(decoded[0], python(decoder, plain)) and decoded[0]["source"] == "x" * 70_000
    assert decoded[1]["event_time"] == -(2 ** 63)
    assert math.copysign(1, decoded[2]["ocr_confidence"]) == -1
    assert decoded[3:] == [None, None, None]
