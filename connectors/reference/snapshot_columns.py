"""A start-up snapshot's columns (connectors.reference.snapshot): an `EntryBatch` of
`udfs.list_state` as an Arrow table, and back, in a taskmanager, with numpy over
Arrow's buffers alone.

In a taskmanager's embedded Python (PyFlink's thread mode) pyarrow must not take the
interpreter lock through PyGILState_Ensure, or it waits for ever for the lock its own
thread holds (see `snapshot._read_checked`). Its conversions to Python and numpy
(`to_numpy`, `to_pylist`, compute functions given Python values) may, so reading
uses none of them: offsets, bytes and numbers are read from the buffers with numpy.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from udfs.bulkload import EntryBatch

# Columns of few distinct values (countries, zones, admission, the attribute maps
# of the LEZ register) are dictionary-encoded: stored once, and loaded as numbers.
_CODED = pa.dictionary(pa.int32(), pa.string())
SCHEMA = pa.schema([
    ("entry_id", pa.string()), ("plate", pa.string()), ("country", _CODED),
    ("valid_from", pa.int64()), ("valid_until", pa.int64()), ("severity", pa.int64()),
    ("zone", _CODED), ("admitted", _CODED),
    ("attributes", _CODED),   # the other attributes as a JSON object
])   # never null: a text that is none is empty


# -- columns ------------------------------------------------------------------------

def batch_table(batch: EntryBatch) -> pa.Table:
    """An `EntryBatch` of `ListState` (text columns as Python sequences) as a table of
    SCHEMA. No value is null: a text that is none is empty (as the column load reads
    it), so that reading needs no validity bitmaps."""
    n = len(batch)

    def text(values, coded: bool = True) -> pa.Array:
        array = pa.array(["" if v is None else v for v in values] if values is not None else [""] * n, pa.string())
        return array.dictionary_encode() if coded else array

    attributes = [json.dumps(a, sort_keys=True, ensure_ascii=False) if a else None for a in batch.attributes] \
        if batch.attributes is not None else None
    return pa.table({
        "entry_id": text(batch.entry_ids, False), "plate": text(batch.plates, False),
        "country": text(batch.countries),
        "valid_from": pa.array(batch.valid_from, pa.int64()), "valid_until": pa.array(batch.valid_until, pa.int64()),
        "severity": pa.array(batch.severity, pa.int64()), "zone": text(batch.zones),
        "admitted": text(batch.admitted), "attributes": text(attributes),
    }, schema=SCHEMA)


def table_batch(list_name: str, table: pa.Table) -> EntryBatch:
    """A table of SCHEMA as the `EntryBatch` of list `list_name`: text as fixed-width
    bytes, numbers as numpy, rows with equal attributes sharing one mapping, without
    a Python object per entry. Read from Arrow's buffers with numpy alone, with none
    of pyarrow's conversions (the module's docstring says why)."""
    columns = {name: _one_array(table.column(name)) for name in SCHEMA.names}
    admitted = _fixed_width(columns["admitted"])
    return EntryBatch(
        list_name, _fixed_width(columns["entry_id"]), _fixed_width(columns["plate"]),
        countries=_fixed_width(columns["country"]), valid_from=_int64(columns["valid_from"]),
        valid_until=_int64(columns["valid_until"]), severity=_int64(columns["severity"]),
        zones=_fixed_width(columns["zone"]),
        admitted=admitted if _any_text(admitted) else None,
        attributes=_attribute_maps(columns["attributes"]),
    )


def _any_text(column: np.ndarray | list) -> bool:
    if isinstance(column, np.ndarray):
        return bool(column.size) and bool((column != b"").any())
    return any(column)


def _attribute_maps(array: pa.Array) -> list | None:
    """Each row's attribute map (None for none), equal ones one shared dict; None when
    no row has any."""
    if isinstance(array, pa.DictionaryArray):
        maps = [json.loads(text) if text else None for text in _texts(array.dictionary)]
        if not any(maps):
            return None
        return [maps[code] for code in _int32(array.indices).tolist()]
    texts = _texts(array)
    return [json.loads(text) if text else None for text in texts] if any(texts) else None


def _one_array(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _int64(array: pa.Array) -> np.ndarray:
    return np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset:array.offset + len(array)]


def _int32(array: pa.Array) -> np.ndarray:
    return np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset:array.offset + len(array)]


def _offsets_and_bytes(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A text array's n + 1 offsets (from 0) and the bytes they index."""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset:array.offset + len(array) + 1]
    data = array.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], data[offsets[0]:offsets[-1]]


def _texts(array: pa.Array) -> list[str]:
    offsets, data = _offsets_and_bytes(array)
    raw = data.tobytes()
    return [raw[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


def _fixed_width(array: pa.Array) -> np.ndarray | list:
    """A text array (plain or dictionary-encoded) as a numpy `S` array, built from
    Arrow's offsets and bytes with one numpy pass per byte position: a Python string
    per entry would cost about a second and 600 MB at 10,000,000 entries. An array
    with a NUL character is given as Python text instead: numpy's `S` drops trailing
    NULs, and the column load takes such text by its general path, intact."""
    if isinstance(array, pa.DictionaryArray):
        values, codes = _fixed_width(array.dictionary), _int32(array.indices)
        return values[codes] if isinstance(values, np.ndarray) else [values[c] for c in codes.tolist()]
    offsets, data = _offsets_and_bytes(array)
    if (data == 0).any():
        return _texts(array)
    n = len(array)
    starts, lengths = offsets[:-1].astype(np.int64), np.diff(offsets)
    width = max(int(lengths.max()) if n else 0, 1)
    matrix = np.zeros((n, width), dtype=np.uint8)
    for j in range(width):
        rows = np.flatnonzero(lengths > j)
        matrix[rows, j] = data[starts[rows] + j]
    return matrix.view(f"S{width}").ravel()
