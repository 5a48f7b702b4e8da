"""The one builder of the DeadLetter record (connectors.dead_letters): the
contract's fields, the bounded detail of spec §3, and the same record from the
job's Kafka codec as from the ingest stage."""

from __future__ import annotations

import time

import fastavro
import fastavro.validation

import schemas
from connectors.codecs import KafkaCodec
from connectors.dead_letters import MAX_DETAIL_BYTES, bounded, dead_letter_record, file_dead_letter
from udfs.validation import InvalidRead


def test_detail_is_bounded_to_one_kib_whatever_it_quotes():
    huge = "plate " + "Ä" * 900_000
    cut = bounded(huge)
    assert len(cut.encode("utf-8")) <= MAX_DETAIL_BYTES and cut.endswith("...")
    assert bounded("short") == "short" and bounded("") is None and bounded(None) is None


def test_the_record_is_the_contracts_and_encodes_with_it():
    record = dead_letter_record("BAD_CONFIDENCE", b'{"read_id": "R1"}', detail="ocr_confidence 1.5", read_id="R1",
                                topic="reads", partition=2, offset=41, received_at=1772352000000)
    contract = schemas.load("DeadLetter")
    assert list(record) == [f["name"] for f in contract["fields"]]
    assert fastavro.validation.validate(record, fastavro.parse_schema(contract), raise_errors=True)


def test_no_original_is_empty_bytes_no_detail_is_null_and_the_time_is_now():
    before = int(time.time() * 1000)
    record = dead_letter_record("MALFORMED", None, detail="")
    assert record["original"] == b"" and record["detail"] is None and record["read_id"] is None
    assert (record["source_topic"], record["source_partition"], record["source_offset"]) == (None, None, None)
    assert before <= record["received_at"] <= int(time.time() * 1000)
    big = dead_letter_record("MALFORMED", b"x", detail="d" * 5000)
    assert len(big["detail"].encode("utf-8")) <= MAX_DETAIL_BYTES


def test_the_file_line_is_the_same_dead_letter_as_text():
    record = dead_letter_record("EMPTY_PLATE", "é".encode() + b"\xff", detail="canonical plate is empty",
                                read_id="R9", offset=7)
    assert file_dead_letter(record) == {"reason": "EMPTY_PLATE", "read_id": "R9",
                                        "detail": "canonical plate is empty", "original": "é\ufffd",
                                        "position": 7}


class _Capture:
    def __init__(self):
        self.records = []

    def encode(self, record):
        self.records.append(record)
        return b"avro"


def test_the_kafka_codec_writes_the_record_ingest_writes():
    codec = KafkaCodec("http://unused", "ref.", "cameras", "hits", "sightings", "dlq", "refusals")
    capture = _Capture()
    codec._encoders = type("Encoders", (), {"dead_letter": capture})()
    invalid = InvalidRead("PLATE_TOO_LONG", b"raw", "canonical plate 'ABCDEFGHIJKLM' is longer than 12", read_id="R2")
    topic, key, value = codec.dead_letter(invalid, b"raw", "reads", 1, 99)
    assert (topic, key, value) == ("dlq", b"reads/1/99", b"avro")
    written = capture.records[0]
    expected = dead_letter_record("PLATE_TOO_LONG", b"raw", detail=invalid.detail, read_id="R2", topic="reads",
                                  partition=1, offset=99, received_at=written["received_at"])
    assert written == expected


def test_a_read_id_too_long_to_copy_stays_in_the_original_only():
    """A read_id is a copy of part of the original: a huge one would double the dead
    letter, which must stay within its topic's room (spec §3)."""
    from connectors.dead_letters import MAX_READ_ID_BYTES

    short, long = "R" * MAX_READ_ID_BYTES, "R" * (MAX_READ_ID_BYTES + 1)
    assert dead_letter_record("MALFORMED", b"x", read_id=short)["read_id"] == short
    assert dead_letter_record("MALFORMED", b"x", read_id=long)["read_id"] is None
    assert dead_letter_record("MALFORMED", b"x", read_id="é" * 600)["read_id"] is None   # 1,200 bytes of UTF-8
