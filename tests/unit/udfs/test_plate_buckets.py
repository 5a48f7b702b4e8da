"""`OcrClasses.bucket`: which bucket of plates a canonical plate is handled in."""

from __future__ import annotations

import zlib

from hypothesis import given, strategies as st

from udfs.config import DEFAULT_OCR_CLASSES
from udfs.platecode import OcrClasses

CLASSES = OcrClasses(DEFAULT_OCR_CLASSES)
PLATES = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)


def test_plates_one_confusion_apart_share_a_bucket():
    assert len({CLASSES.bucket(plate, 16) for plate in ("1AB0C5", "IAB0CS", "1A8OC5", "1ABQC5", "IA8DCS")}) == 1


def test_the_bucket_is_crc32_of_the_class_representatives():
    # The same number in every process and in Java (org.feblam.flink.ReadPlates).
    assert CLASSES.bucket("IABOCS", 1000) == zlib.crc32(b"1A80C5") % 1000


@given(PLATES, st.integers(1, 128))
def test_every_plate_has_a_bucket_in_range(plate, buckets):
    assert 0 <= CLASSES.bucket(plate, buckets) < buckets


def test_buckets_spread_plates_evenly():
    counts = [0] * 16
    for n in range(16_000):
        counts[CLASSES.bucket(f"{n:06d}AB", 16)] += 1
    assert max(counts) < 1.2 * 1000 and min(counts) > 0.8 * 1000
