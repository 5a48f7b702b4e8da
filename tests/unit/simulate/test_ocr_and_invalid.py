"""OCR noise keeps its contract; every invalid variant gives its dead-letter reason."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from feblam.simulate.invalid import VARIANTS, corrupt
from feblam.simulate.ocr import CLEAN, CONFUSABLE, DROPPED, EXTRA, GARBAGE, MISREAD, OcrModel
from feblam.simulate.plates import FORMATS
from udfs.normalise import canon
from udfs.validation import InvalidRead, validate_read

CLASSES = ("0ODQ", "1I", "2Z", "5S", "6G", "8B")


def _same_class(a: str, b: str) -> bool:
    return any(a in cls and b in cls for cls in CLASSES)


def test_noise_keeps_reads_valid_and_confusions_in_their_class():
    model, rng = OcrModel(), random.Random(11)
    kinds = Counter()
    for name, fmt in FORMATS.items():
        for _ in range(400):
            plate = fmt.sample(rng)
            printed = plate.display()
            read = model.read(rng, printed, plate.country, night=rng.random() < 0.3)
            kinds[read.kind] += 1
            assert 1 <= len(canon(read.text)) <= 12, (printed, read)
            assert 0.0 <= read.confidence <= 1.0
            if read.kind == CLEAN:
                assert read.text == printed
            elif read.kind == CONFUSABLE:
                diffs = [(a, b) for a, b in zip(canon(printed), canon(read.text)) if a != b]
                assert len(canon(read.text)) == len(plate.canon)
                assert 1 <= len(diffs) <= 2 and all(_same_class(a, b) for a, b in diffs)
            elif read.kind == DROPPED:
                assert len(canon(read.text)) == len(plate.canon) - 1
            elif read.kind == EXTRA:
                assert len(canon(read.text)) > len(plate.canon)
    assert set(kinds) == {CLEAN, CONFUSABLE, MISREAD, DROPPED, EXTRA, GARBAGE}
    assert kinds[CLEAN] > 0.85 * sum(kinds.values())


def test_a_worn_plate_is_misread_at_the_same_place():
    model, rng = OcrModel(), random.Random(5)
    printed = "1-ABC-888"
    texts = Counter(model.read(rng, printed, "BE", weak=6).text for _ in range(400))
    # Character 6 is the last 8; its only look-alike is B.
    assert texts["1-ABC-88B"] > 0.4 * 400
    assert texts["1-ABC-88B"] == max(texts.values())


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_every_invalid_variant_gives_its_reason(variant):
    rng = random.Random(variant)
    base = {"read_id": "r-1", "camera_id": "ANPR-BRU-0001", "event_time": "2026-03-02T08:15:00.250Z",
            "plate_text": "1-ABC-123", "plate_country": "B", "ocr_confidence": 0.93,
            "make": "Audi", "colour": "grey", "vehicle_type": "car", "image_ref": None,
            "source": "anpr-brussels"}
    validate_read(base)
    for _ in range(200):
        payload, reason = corrupt(rng, base, variant)
        assert reason == VARIANTS[variant][1]
        with pytest.raises(InvalidRead) as error:
            validate_read(payload)
        assert error.value.reason == reason, payload
    assert base["plate_text"] == "1-ABC-123"  # the valid read is not modified
