"""The records of `udfs.model` pickle as their field values and come back equal:
Flink pickles every read and hit between operators."""

from __future__ import annotations

import pickle

from udfs.model import Camera, Hit, PlateRead, ReferenceEntry

READ = PlateRead("r1", "C1", 1772352000000, "1-ABC-123", "1ABC123", "BE", 0.9, make="VW", source="feed")
HIT = Hit("h1", "r1", "stolen_vehicles", "S1", "EXACT", 0, None, 70, 70, "P2", (("severity", 70.0), ("score", 70.0)),
          1772352000000, "C1", "1ABC123", ("ALERT", "stolen_vehicles", "S1"), 600000, {"case": "42"})
ENTRY = ReferenceEntry("stolen_vehicles", "S1", "UPSERT", "1ABC123", severity=80, attributes={"case": "42"})
CAMERA = Camera("C1", 50.8, 4.3, ("BXL",), "5339", "Brussels")


def test_records_round_trip_through_pickle():
    for record in (READ, HIT, ENTRY, CAMERA):
        assert pickle.loads(pickle.dumps(record)) == record


def test_records_pickle_as_their_field_values():
    cls, values = READ.__reduce__()
    assert cls is PlateRead and values[:4] == ("r1", "C1", 1772352000000, "1-ABC-123")
    assert len(pickle.dumps(READ)) < 200
