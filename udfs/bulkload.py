"""Loading a whole list into the index at once, column by column (spec §8 start-up).

At start-up the job loads every reference list completely before the first
read (spec §8). For the big lists (LEZ status: millions of vehicles) applying
updates one by one costs several microseconds each; ``load_batch`` takes the
list as columns and fills the index with numpy instead.

Contract: ``load_batch(index, batch)`` leaves the index exactly as applying, in
order, one UPSERT per row with the record ``{list_name, entry_id, plate, country,
valid_from, valid_until, severity, zone, attributes: {admitted, ...}}`` would. Rows the
vectorised path cannot take (a plate that is not already canonical, a wildcard,
an id already in the index or repeated in the batch, a bad value) go through
``parse_entry`` and ``ReferenceIndex.apply`` one by one, in their order; the rows
refused there are returned as (row, ``InvalidEntry``) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from udfs import index as ix
from udfs.lez import is_admitted
from udfs.model import FOR_EVER, SINCE_EVER
from udfs.normalise import country as normalise_country
from udfs.platecode import encode_many
from udfs.reference import InvalidEntry, parse_entry


@dataclass
class EntryBatch:
    """Rows of one list as parallel columns. Optional columns default to null.

    Text columns are sequences of ``str`` (``None`` for null) or numpy ``S``/``U``
    arrays (empty text for null). ``valid_from``/``valid_until`` are epoch millis
    with ``SINCE_EVER``/``FOR_EVER`` for null; ``severity`` is -1 for null.
    ``admitted`` is for the LEZ status list only. ``attributes`` holds each row's
    other attributes (a text-to-text mapping, or None), as they are to be stored.
    """

    list_name: str
    entry_ids: Any
    plates: Any
    countries: Any = None
    valid_from: Any = None
    valid_until: Any = None
    severity: Any = None
    zones: Any = None
    admitted: Any = None
    attributes: Any = None

    def __len__(self) -> int:
        return len(self.entry_ids)

    def record(self, i: int) -> dict:
        """Row ``i`` as the update record it stands for."""
        def text(column):
            if column is None:
                return None
            value = column[i]
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            return value if value not in ("", None) else None

        def instant(column, open_value):
            if column is None or int(column[i]) == open_value:
                return None
            return int(column[i])

        severity = None if self.severity is None or int(self.severity[i]) < 0 \
            else int(self.severity[i])
        admitted = text(self.admitted)
        attributes = dict((self.attributes[i] or {}) if self.attributes is not None else {})
        if admitted is not None:
            attributes["admitted"] = admitted
        return {"list_name": self.list_name, "entry_id": text(self.entry_ids),
                "plate": text(self.plates) or "", "country": text(self.countries),
                "valid_from": instant(self.valid_from, SINCE_EVER),
                "valid_until": instant(self.valid_until, FOR_EVER), "severity": severity,
                "zone": text(self.zones), "attributes": attributes}


def _bytes_array(column: Any) -> np.ndarray:
    if isinstance(column, np.ndarray) and column.dtype.kind == "S":
        return column
    if isinstance(column, np.ndarray) and column.dtype.kind == "U":
        try:
            return column.astype("S")
        except UnicodeEncodeError:
            column = column.tolist()
    return np.array([("" if v is None else v).encode("utf-8") for v in column], dtype=bytes)


def _lengths(arr: np.ndarray) -> np.ndarray:
    width = max(arr.dtype.itemsize, 1)
    matrix = arr.view(np.uint8).reshape(len(arr), width) if arr.dtype.itemsize else \
        np.zeros((len(arr), 1), np.uint8)
    nonzero = matrix != 0
    # Length = index of the last non-null byte + 1 (numpy pads with trailing nulls).
    last = width - np.argmax(nonzero[:, ::-1], axis=1)
    return np.where(nonzero.any(axis=1), last, 0), matrix


def _fnv(list_id: int, matrix: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    prime = np.uint64(ix.FNV_PRIME)
    h = np.full(len(lengths), (ix.FNV_OFFSET ^ list_id) * ix.FNV_PRIME & ((1 << 64) - 1),
                dtype=np.uint64)
    for i in range(matrix.shape[1]):
        inside = i < lengths
        h = np.where(inside, (h ^ matrix[:, i].astype(np.uint64)) * prime, h)
    return (h & np.uint64((1 << 63) - 1)).astype(np.int64)


def _ids_of(values: Any, n: int, resolve) -> np.ndarray:
    """Small-registry ids (country, zone) of a text column, via its distinct values."""
    if values is None:
        return np.zeros(n, dtype=np.int64)
    arr = _bytes_array(values)
    uniq, inverse = np.unique(arr, return_inverse=True)
    ids = np.array([resolve(u.decode("utf-8") or None) for u in uniq.tolist()], dtype=np.int64)
    return ids[inverse]


def load_batch(index: ix.ReferenceIndex, batch: EntryBatch) -> list[tuple[int, InvalidEntry]]:
    """Load ``batch`` into ``index`` (see the module contract); returns the refused rows."""
    n = len(batch)
    if n == 0:
        return []
    lid = index.list_id(batch.list_name)
    is_status = index._kind[lid] == ix.KIND_STATUS
    if batch.admitted is not None and not is_status:
        raise ValueError("the admitted column is for the LEZ status list only")
    plates = _bytes_array(batch.plates)
    codes, ok = encode_many(plates)
    keys, _ = encode_many(plates, index.ocr.byte_table)
    ids = _bytes_array(batch.entry_ids)
    id_len, id_matrix = _lengths(ids)
    ok &= (id_len > 0) & (id_len <= 65_535)
    # numpy drops trailing NUL characters: text given as Python sequences with
    # one takes the general path, intact.
    for column in (batch.entry_ids, batch.plates, batch.countries, batch.zones, batch.admitted):
        if column is not None and not isinstance(column, np.ndarray):
            ok &= np.array([not (v or "").endswith("\0") for v in column], dtype=bool)
    hashes = _fnv(lid, id_matrix, id_len)
    severity = np.full(n, -1, np.int64) if batch.severity is None else \
        np.asarray(batch.severity, dtype=np.int64)
    ok &= (severity == -1) | ((severity >= 0) & (severity <= 100))
    valid_from = np.full(n, SINCE_EVER, np.int64) if batch.valid_from is None else \
        np.asarray(batch.valid_from, dtype=np.int64)
    valid_until = np.full(n, FOR_EVER, np.int64) if batch.valid_until is None else \
        np.asarray(batch.valid_until, dtype=np.int64)
    # Ids already held, or repeated in the batch, take the ordered general path.
    ok &= index._by_id.get_many(hashes) < 0
    _, first, counts = np.unique(hashes, return_index=True, return_counts=True)
    repeated = np.zeros(n, dtype=bool)
    repeated[first[counts > 1]] = True
    repeated = np.isin(hashes, hashes[repeated]) if repeated.any() else repeated
    ok &= ~repeated
    elsewhere = {eid for (l, eid) in index._inert if l == lid}
    elsewhere |= {e.entry_id for l, e in index.wildcards.entries() if l == lid}
    if elsewhere:
        ok &= ~np.isin(ids, np.array([e.encode() for e in elsewhere]))
    countries = _ids_of(batch.countries, n, lambda c: index.country_id(normalise_country(c)))
    zones = _ids_of(batch.zones, n, index.zone_id)
    flags = np.full(n, ix.LIVE, np.int64)
    if batch.admitted is not None:
        # Decided per distinct value by the same rule as one-by-one updates.
        not_admitted = _ids_of(batch.admitted, n, lambda a: int(
            a is not None and not is_admitted({"admitted": a})))
        flags[not_admitted == 1] |= ix.NOT_ADMITTED

    fast = np.flatnonzero(ok)
    m = len(fast)
    start = len(index._severity)
    slots = np.arange(start, start + m, dtype=np.int64)
    # Entry ids: the non-null bytes of the id matrix, row by row, are the concatenation.
    fast_len = id_len[fast]
    fast_matrix = id_matrix[fast]
    blob_part = fast_matrix[np.arange(fast_matrix.shape[1]) < fast_len[:, None]].tobytes()
    offsets = len(index._eid_blob) + np.concatenate(([0], np.cumsum(fast_len)[:-1])) \
        if m else np.zeros(0, np.int64)
    index._eid_blob += blob_part
    # Chains: rows grouped by chain key (OCR-class key for an alert list, exact
    # plate code for a LEZ list), each group linked in row order and hung in
    # front of the chain already held for that key.
    is_alert = index._kind[lid] == ix.KIND_ALERT
    table = index._by_key if is_alert else index._by_code
    fast_keys = (keys if is_alert else codes)[fast]
    order = np.argsort(fast_keys, kind="stable")
    sorted_keys = fast_keys[order]
    nxt = np.full(m, -1, np.int64)
    same = sorted_keys[1:] == sorted_keys[:-1] if m else np.zeros(0, bool)
    nxt_sorted = np.full(m, -1, np.int64)
    nxt_sorted[:-1][same] = slots[order][1:][same]
    group_start = np.concatenate(([True], ~same)) if m else np.zeros(0, bool)
    group_end = np.concatenate((~same, [True])) if m else np.zeros(0, bool)
    unique_keys = sorted_keys[group_start]
    old_chains = table.get_many(unique_keys)
    nxt_sorted[group_end] = np.where(old_chains < 0, -1, old_chains & ix.HEAD_MASK)
    chain_flags = np.zeros(len(unique_keys), dtype=np.int64)
    if is_status:
        # A new chain of one admitting status entry valid for ever (udfs.layout).
        head_rows = fast[order[group_start]]
        sole = (old_chains < 0) & group_end[group_start] \
            & ((flags[head_rows] & ix.NOT_ADMITTED) == 0) \
            & (valid_from[head_rows] == SINCE_EVER) & (valid_until[head_rows] == FOR_EVER)
        chain_flags |= np.where(sole, ix.SOLE_ADMITTING
                                | (countries[head_rows] << ix.SOLE_COUNTRY_SHIFT)
                                | (zones[head_rows] << ix.SOLE_ZONE_SHIFT), 0)
    nxt[order] = nxt_sorted
    meta = (nxt + 1) | (lid << ix.LIST_SHIFT) | (countries[fast] << ix.COUNTRY_SHIFT) \
        | (zones[fast] << ix.ZONE_SHIFT) | flags[fast]
    records = np.stack([codes[fast], valid_from[fast], valid_until[fast], meta], axis=1)
    index._rec.frombytes(records.astype(np.int64).tobytes())
    index._severity.frombytes(severity[fast].astype(np.int8).tobytes())
    index._eid_off.frombytes(np.asarray(offsets, dtype=np.int64).tobytes())
    index._eid_len.frombytes(fast_len.astype(np.uint16).tobytes())
    table.put_many(unique_keys, slots[order][group_start] | chain_flags)
    index._by_id.put_many(hashes[fast], slots)
    index._live += m
    numbers = np.zeros(m, dtype=np.uint32)
    if batch.attributes is not None:
        # Rows often share one mapping object (a snapshot's, `udfs.list_state`): each is
        # looked up once.
        seen: dict[int, int] = {}
        attributes = batch.attributes
        for k, row in enumerate(fast.tolist()):
            mapping = attributes[row]
            if mapping:
                number = seen.get(id(mapping))
                if number is None:
                    number = seen[id(mapping)] = index.attributes_number(mapping)
                numbers[k] = number
    index._attribute_ids.frombytes(numbers.tobytes())

    refused: list[tuple[int, InvalidEntry]] = []
    for i in np.flatnonzero(~ok).tolist():
        record = batch.record(i)
        try:
            index.apply(parse_entry(record))
        except InvalidEntry as err:
            refused.append((i, err))
    return refused
