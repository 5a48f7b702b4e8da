"""The record batches of org.feblam.flink.SubtaskBatches, split again in Python:
pure logic, no Kafka."""

from __future__ import annotations

from connectors.kafka import batch_records


def _batch(topic, records):
    """A batch as SubtaskBatches builds it from (partition, offset, key, value) records."""
    partitions, offsets, key_lengths, lengths = [], [], [], []
    keys, values = b"", b""
    for partition, offset, key, value in records:
        partitions.append(partition)
        offsets.append(offset)
        key_lengths.append(-1 if key is None else len(key))
        lengths.append(-1 if value is None else len(value))
        keys += key or b""
        values += value or b""
    return (topic, partitions, offsets, key_lengths, keys, lengths, values)


def test_batch_splits_into_its_records_in_order():
    records = [(0, 10, b"k1", b"\x00abc"), (1, 11, None, b"x"), (0, 12, b"k3", None), (0, 13, b"", b"")]
    assert list(batch_records(_batch("ref.stolen", records))) == [("ref.stolen", *r) for r in records]


def test_empty_batch_has_no_records():
    assert list(batch_records(_batch("t", []))) == []


def test_a_batch_decoded_in_java_gives_one_read_per_record():
    import pickle

    import pytest

    from connectors.kafka import decoded_reads

    batch = _batch("reads", [(0, 1, None, b"a"), (0, 2, None, b"b")])
    assert decoded_reads((*batch, b"")) is None
    reads = [{"read_id": "r1"}, None]
    assert decoded_reads((*batch, pickle.dumps(reads, 2))) == reads
    with pytest.raises(ValueError, match="2 records came with 1 decoded"):
        decoded_reads((*batch, pickle.dumps(reads[:1], 2)))
