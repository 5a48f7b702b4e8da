"""The shipped read connectors on good and bad payloads, through the validation ingest applies."""

from __future__ import annotations

import io
import json
import struct

import fastavro
import pytest

import schemas
from connectors.sources import ConnectorContext, ConnectorError, RejectedPayload, TopicConnector, canonical_read
from connectors.sources.csv_folder import CsvFolderReads
from connectors.sources.native_avro import AvroReads
from connectors.sources.vendor_json import VendorJsonReads
from connectors.testkit import OfflineRegistry

GOOD = {"readId": "VG-1", "cam": "ANPR-BRU-0001", "ts": "2026-03-01T08:15:02.120+01:00", "plate": "1-ABC-123",
        "nationality": "B", "confidencePct": 87.5}


def vendor(**changes) -> bytes:
    message = {**GOOD, **changes}
    return json.dumps({k: v for k, v in message.items() if v is not ...}).encode()


def rejected(connector, payload: bytes) -> RejectedPayload:
    with pytest.raises(RejectedPayload) as caught:
        canonical_read(connector, payload)
    assert caught.value.raw == payload  # the original bytes, for the dead letter
    return caught.value


# --- vendor-json ---------------------------------------------------------------------

@pytest.mark.parametrize("ts, utc", [
    ("2026-03-01T08:15:02.120+01:00", "2026-03-01T07:15:02.120Z"),  # winter time
    ("2026-07-14T16:45:00.500+02:00", "2026-07-14T14:45:00.500Z"),  # summer time
    ("2026-03-01T23:30:00-05:00", "2026-03-02T04:30:00.000Z"),       # crosses midnight
    ("2026-03-01T07:15:02.120Z", "2026-03-01T07:15:02.120Z"),        # already UTC
    ("2026-03-01T08:15:02.123999+01:00", "2026-03-01T07:15:02.123Z"),  # microseconds truncated
])
def test_vendor_json_local_time_with_offset_becomes_utc_millis(ts, utc):
    from udfs.instant import format_instant

    record = canonical_read(VendorJsonReads(), vendor(ts=ts))
    assert format_instant(record["event_time"]) == utc


@pytest.mark.parametrize("pct, fraction", [(87.5, 0.875), (87.3, 0.873), (100, 1.0), (0, 0.0), (99.99, 0.9999)])
def test_vendor_json_percent_becomes_a_fraction(pct, fraction):
    assert canonical_read(VendorJsonReads(), vendor(confidencePct=pct))["ocr_confidence"] == fraction


def test_vendor_json_maps_every_field():
    payload = vendor(vehicle={"make": "Volvo", "colour": "white", "class": "truck"}, imageUrl="img/1.jpg")
    assert canonical_read(VendorJsonReads(), payload) == {
        "read_id": "VG-1", "camera_id": "ANPR-BRU-0001", "event_time": 1772349302120, "plate_text": "1-ABC-123",
        "plate_country": "B", "ocr_confidence": 0.875, "make": "Volvo", "colour": "white",
        "vehicle_type": "truck", "image_ref": "img/1.jpg", "source": "vendor-json"}


@pytest.mark.parametrize("payload, reason, detail", [
    (vendor(ts="2026-03-01T08:15:02.120"), "BAD_TIMESTAMP", "no UTC offset"),
    (vendor(ts="01/03/2026 08:15"), "BAD_TIMESTAMP", "not an ISO-8601"),
    (vendor(ts=1772349302120), "BAD_TIMESTAMP", "not text"),
    (vendor(ts=...), "BAD_TIMESTAMP", "missing"),
    (vendor(confidencePct=100.01), "BAD_CONFIDENCE", "0..100"),
    (vendor(confidencePct=-1), "BAD_CONFIDENCE", "0..100"),
    (vendor(confidencePct="87"), "BAD_CONFIDENCE", "0..100"),
    (vendor(confidencePct=True), "BAD_CONFIDENCE", "0..100"),
    (vendor(confidencePct=...), "BAD_CONFIDENCE", "None"),
    (vendor(readId=...), "MALFORMED", "readId"),
    (vendor(cam=None), "MALFORMED", "cam"),
    (vendor(plate=42), "MALFORMED", "plate"),
    (vendor(plate="  "), "EMPTY_PLATE", "empty"),
    (vendor(plate="ABCDEFGHJKLMNP"), "PLATE_TOO_LONG", "longer"),
    (b"\x00\x9f\xff garbage", "MALFORMED", "not JSON"),
    (b"", "MALFORMED", "not JSON"),
    (b'"just a string"', "MALFORMED", "not a JSON object"),
    (b'{"readId": "VG-1", "cam": ', "MALFORMED", "not JSON"),
])
def test_vendor_json_refusals(payload, reason, detail):
    refusal = rejected(VendorJsonReads(), payload)
    assert refusal.reason == reason
    assert detail in refusal.detail


def test_vendor_json_refusal_keeps_the_read_id_when_known():
    assert rejected(VendorJsonReads(), vendor(ts="2026-03-01T08:15")).read_id == "VG-1"


# --- csv-folder ----------------------------------------------------------------------

HEADER = b"read_id,camera_id,event_time,plate,country,confidence,make,colour,vehicle_type,image_ref"


def row(line: bytes, header: bytes = HEADER) -> bytes:
    return header + b"\n" + line


def test_csv_row_becomes_a_read():
    record = canonical_read(CsvFolderReads(), row(b"R1,CAM-1,2026-03-01 08:15:02+01:00,1-ABC-123,B,0.91,,,car,"))
    assert record["event_time"] == 1772349302000
    assert (record["plate_text"], record["plate_country"], record["ocr_confidence"]) == ("1-ABC-123", "B", 0.91)
    assert (record["make"], record["vehicle_type"], record["source"]) == (None, "car", "csv-folder")


@pytest.mark.parametrize("line, reason", [
    (b"R1,CAM-1,2026-03-01T08:15:02,1-ABC-123,B,0.9,,,,", "BAD_TIMESTAMP"),      # no offset
    (b"R1,CAM-1,,1-ABC-123,B,0.9,,,,", "BAD_TIMESTAMP"),
    (b"R1,CAM-1,2026-03-01T08:15:02Z,1-ABC-123,B,90,,,,", "BAD_CONFIDENCE"),     # percent is not this format's
    (b"R1,CAM-1,2026-03-01T08:15:02Z,1-ABC-123,B,,,,,", "BAD_CONFIDENCE"),
    (b"R1,CAM-1,2026-03-01T08:15:02Z,1-ABC-123,B,nan,,,,", "BAD_CONFIDENCE"),
    (b",,,,,,,,,", "MALFORMED"),                                                    # an empty row
    (b"R1,CAM-1", "MALFORMED"),                                                     # too few cells
    (b"R1,CAM-1,2026-03-01T08:15:02Z,1-ABC-123,B,0.9,,,,,extra", "MALFORMED"),    # too many
    (b'R1,CAM-1,2026-03-01T08:15:02Z,"1-ABC-123,B,0.9,,,,', "MALFORMED"),         # unterminated quote
    (b"R1,CAM-1,2026-03-01T08:15:02Z,1-\xff-123,B,0.9,,,,", "MALFORMED"),          # not UTF-8
    (b"R1,CAM-1,2026-03-01T08:15:02Z,-,B,0.9,,,,", "EMPTY_PLATE"),
])
def test_csv_row_refusals(line, reason):
    assert rejected(CsvFolderReads(), row(line)).reason == reason


def test_csv_header_without_a_required_column_refuses_every_row():
    refusal = rejected(CsvFolderReads(), row(b"R1,CAM-1,2026-03-01T08:15:02Z,1-ABC", b"read_id,camera_id,event_time,plate"))
    assert (refusal.reason, refusal.detail) == ("MALFORMED", "the file's header lacks confidence")


def test_csv_split_gives_each_line_its_number_and_bytes(tmp_path):
    path = tmp_path / "drop.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER + b"\r\nR1,C,2026-03-01T08:15:02Z,P1,B,0.9,,,,\r\n\r\n   \nR2,C,x,P2,B,0.9,,,,")
    payloads = list(CsvFolderReads().split(path))
    assert [(p.line, p.raw) for p in payloads] == [(2, b"R1,C,2026-03-01T08:15:02Z,P1,B,0.9,,,,"),
                                                   (5, b"R2,C,x,P2,B,0.9,,,,")]
    assert canonical_read(CsvFolderReads(), payloads[0].payload, payloads[0].raw)["read_id"] == "R1"
    with pytest.raises(RejectedPayload) as caught:
        canonical_read(CsvFolderReads(), payloads[1].payload, payloads[1].raw)
    assert caught.value.raw == b"R2,C,x,P2,B,0.9,,,,"  # the line, not the header + line given to decode


def test_csv_empty_and_header_only_files_have_no_payloads(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_bytes(HEADER + b"\n")
    assert list(CsvFolderReads().split(tmp_path / "empty.csv")) == []
    assert list(CsvFolderReads().split(tmp_path / "header.csv")) == []


# --- avro ----------------------------------------------------------------------------

def wire(record: dict, schema_id: int = 1) -> bytes:
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(out, fastavro.parse_schema(schemas.load("PlateRead")), record)
    return out.getvalue()


READ = {"read_id": "AV-1", "camera_id": "CAM-1", "event_time": 1772349302120, "plate_text": "1-ABC-123",
        "plate_country": None, "ocr_confidence": 0.5}


def test_avro_identity():
    connector = AvroReads(ConnectorContext(registry=OfflineRegistry()))
    record = canonical_read(connector, wire(READ))
    assert {k: record[k] for k in READ} == READ
    assert record["source"] == "avro"


@pytest.mark.parametrize("payload, reason", [
    (wire({**READ, "ocr_confidence": float("nan")}), "BAD_CONFIDENCE"),
    (wire({**READ, "plate_text": "*"}), "EMPTY_PLATE"),
    (wire(READ, schema_id=7), "MALFORMED"),
    (wire(READ)[:9], "MALFORMED"),
    (b"\x01\x00\x00\x00\x01rest", "MALFORMED"),
    (b"", "MALFORMED"),
])
def test_avro_refusals(payload, reason):
    assert rejected(AvroReads(ConnectorContext(registry=OfflineRegistry())), payload).reason == reason


def test_avro_needs_a_registry():
    with pytest.raises(ValueError, match="registry"):
        AvroReads(ConnectorContext())


# --- the boundary ----------------------------------------------------------------------

class Sloppy(TopicConnector):
    name = "sloppy"

    def decode(self, payload: bytes) -> dict:
        if payload == b"crash":
            raise KeyError("ts")
        return {"read_id": "S1", "camera_id": "C", "event_time": 0, "plate_text": "P", "ocr_confidence": 1.0,
                "speed_kmh": 50}


def test_a_connector_that_breaks_its_contract_is_an_error_not_a_dead_letter():
    with pytest.raises(ConnectorError, match="speed_kmh"):
        canonical_read(Sloppy(), b"x")
    with pytest.raises(ConnectorError, match="KeyError"):
        canonical_read(Sloppy(), b"crash")
