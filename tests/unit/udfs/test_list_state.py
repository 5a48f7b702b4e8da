"""ListState, the lists a sequence of updates leaves, loaded as columns
(HitEngine.load_columns), must leave an engine as applying the same records in
order does, and refuse the same records for the same reasons: a start-up from a
snapshot and one from the topics must be the same job."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from udfs.config import settings_from_mapping
from udfs.engine import HitEngine
from udfs.list_state import ListState, admitted_as_attribute
from udfs.model import EXACT, LEZ_NOT_ADMITTED, LEZ_UNREGISTERED, PlateRead
from udfs.reference import InvalidEntry

from .helpers import T0
from .test_apply_records import _snapshot, record_strategy


def _from_state(records, settings=None):
    state, refused = ListState(), []
    for i, raw in enumerate(records):
        try:
            state.apply(raw)
        except InvalidEntry as error:
            refused.append((i, error.reason))
    engine = HitEngine(settings)
    for batch in state.batches():
        assert engine.load_columns(batch) == []
    return engine, refused, state


def _hits(engine, plate, t=T0):
    engine.put_camera({"camera_id": "cam", "lez_zones": ["BXL"]})
    return engine.evaluate(PlateRead(read_id="r", camera_id="cam", event_time=t, plate_text=plate, plate=plate,
                                     country="BE", ocr_confidence=0.95))


def _answers(engine):
    return [[(h.list_name, h.entry_id, h.match_kind, h.zone, h.attributes) for h in _hits(engine, plate, t)]
            for plate in ("1ABC", "IABC", "2XYZ", "1ABCD") for t in (T0 - 1, T0, T0 + 5)]


@settings(max_examples=200, deadline=None)
@given(record_strategy(), st.integers(1, 3))
def test_loading_the_state_equals_applying_in_order(records, repeat):
    records = records * repeat
    serial = HitEngine()
    serial_refused = [(i, error.reason) for i, error in serial.apply_records(records)]
    loaded, refused, state = _from_state(records)
    assert refused == serial_refused
    assert _snapshot(loaded) == _snapshot(serial)
    assert _answers(loaded) == _answers(serial)
    assert len(state) == len(list(serial.index.keys()))


def test_admitted_follows_the_kind_of_the_list_in_the_loading_engine():
    # The same columns: for the LEZ status list `admitted` decides admission; on a list
    # configured as an alert list it is an attribute of a plain alert entry.
    records = [{"list_name": "lez_vehicle_status", "entry_id": f"v{i}", "plate": f"{i}LEZ",
                "attributes": {"admitted": "false", "make": "X"}} for i in range(40)]
    as_alert = settings_from_mapping({"lists": {"lez_vehicle_status": {"kind": "alert"}}})
    for settings, kinds in ((None, {LEZ_NOT_ADMITTED}), (as_alert, {EXACT, LEZ_UNREGISTERED})):
        loaded, _, _ = _from_state(records, settings)
        serial = HitEngine(settings)
        assert serial.apply_records(records) == []
        assert _snapshot(loaded) == _snapshot(serial)
        assert {hit.match_kind for hit in _hits(loaded, "3LEZ")} == kinds


def test_admitted_as_attribute_keeps_the_other_attributes_and_takes_bytes():
    state = ListState()
    state.apply({"list_name": "l", "entry_id": "a", "plate": "1ABC", "attributes": {"admitted": "true", "k": "v"}})
    state.apply({"list_name": "l", "entry_id": "b", "plate": "2ABC"})
    [batch] = state.batches()
    batch.admitted = np.array([b"true", b""])
    moved = admitted_as_attribute(batch)
    assert moved.admitted is None
    assert [moved.record(i)["attributes"] for i in range(2)] == [{"admitted": "true", "k": "v"}, {}]
