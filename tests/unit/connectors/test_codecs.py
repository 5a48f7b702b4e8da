"""The file mode's codec (connectors.codecs.FileCodec) and the bounds every codec
keeps: pure, no Flink. The Kafka codec is exercised on the real stack."""

from __future__ import annotations

import json

import pytest

from connectors.codecs import CAMERA, REFERENCE, FileCodec
from udfs.reference import InvalidEntry
from udfs.validation import InvalidRead, validate_read


@pytest.fixture
def codec():
    return FileCodec("reference", "cameras")


def test_blank_lines_are_no_record(codec):
    assert codec.read(b"") is None and codec.read(b"  \t") is None
    assert codec.update("reference", None, b"   ") is None


def test_a_read_line_is_validated_with_the_reasons_of_spec_3(codec):
    with pytest.raises(InvalidRead) as error:
        validate_read(codec.read(b"not json"))
    assert error.value.reason == "MALFORMED"


def test_updates_are_told_apart_by_their_source(codec):
    assert codec.kind("cameras") == CAMERA and codec.kind("reference") == REFERENCE
    assert codec.update("reference", None, b'{"entry_id": "S1"}') == {"entry_id": "S1"}


def test_an_update_that_is_not_json_is_refused_with_its_bytes(codec):
    with pytest.raises(InvalidEntry) as error:
        codec.update("reference", None, b"{broken")
    assert error.value.reason == "MALFORMED" and error.value.raw == b"{broken"


def test_outputs_carry_the_input_line_for_the_merge(codec):
    topic, key, value = codec.hit({"hit_id": "h", "plate": "1ABC123"}, 42)
    order, _, text = value.decode().partition("\t")
    assert (topic, key, order) == ("hits", None, "42") and json.loads(text)["hit_id"] == "h"


def test_a_dead_letter_keeps_the_original_line_and_its_position(codec):
    invalid = InvalidRead("BAD_CONFIDENCE", b'{"read_id": "R1"}', "ocr_confidence 1.5", read_id="R1")
    topic, _, value = codec.dead_letter(invalid, b'{"read_id": "R1"}', "reads", 0, 7)
    record = json.loads(value.decode().partition("\t")[2])
    assert topic == "dead_letters"
    assert record == {"reason": "BAD_CONFIDENCE", "read_id": "R1", "detail": "ocr_confidence 1.5",
                      "original": '{"read_id": "R1"}', "position": 7}


def test_a_refusal_names_its_source_position_and_reason(codec):
    refused = InvalidEntry("BAD_WILDCARD", {"plate": "*A*B*"}, "three wildcards")
    topic, _, value = codec.refusal(REFERENCE, refused, b'{"plate": "*A*B*"}', "reference", 0, 12)
    record = json.loads(value.decode().partition("\t")[2])
    assert topic == "refusals"
    assert record == {"kind": "reference", "reason": "BAD_WILDCARD", "detail": "three wildcards",
                      "original": '{"plate": "*A*B*"}', "source": "reference", "position": 12}


def test_a_dead_letter_line_bounds_its_detail(codec):
    invalid = InvalidRead("MALFORMED", b"x", "not JSON: " + "Ä" * 10_000)
    _, _, value = codec.dead_letter(invalid, b"x", "reads", 0, 1)
    assert len(json.loads(value.decode().partition("\t")[2])["detail"].encode("utf-8")) <= 1024
