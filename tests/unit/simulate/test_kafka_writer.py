import pytest

from feblam.simulate.kafka_writer import RatePacer, camera_record, entry_record, read_record


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_holds_the_caller_to_the_rate():
    clock = FakeClock()
    pacer = RatePacer(10.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pacer.wait()
    # Calls are due at 0, 0.1, 0.2, 0.3, 0.4 s: the caller took no time, so it slept up to each.
    assert clock.now == pytest.approx(100.4)
    assert pacer.achieved() == pytest.approx(5 / 0.4)


def test_pacer_does_not_sleep_when_behind():
    clock = FakeClock()
    pacer = RatePacer(10.0, clock=clock, sleep=clock.sleep)
    pacer.wait()
    clock.now += 5.0  # the caller was slow
    pacer.wait()
    pacer.wait()
    assert clock.slept == []


def test_pacer_without_rate_never_waits():
    clock = FakeClock()
    pacer = RatePacer(None, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        pacer.wait()
    assert clock.slept == [] and pacer.count == 1000
    with pytest.raises(ValueError):
        RatePacer(-1.0)


READ = {"read_id": "r1", "camera_id": "C1", "event_time": "2026-03-02T08:00:00Z", "plate_text": "1-ABC-123",
        "plate_country": "B", "ocr_confidence": 0.9, "make": None, "colour": "red", "vehicle_type": None,
        "image_ref": None, "source": "feed"}


def test_read_record_in_the_avro_shape():
    record = read_record(READ)
    assert record["event_time"] == 1772438400000
    assert record["ocr_confidence"] == 0.9 and record["colour"] == "red"
    assert read_record({**READ, "event_time": 1772438400000})["event_time"] == 1772438400000


@pytest.mark.parametrize("broken", [
    {"read_id": None}, {"event_time": "02/03/2026 08:15:07"}, {"ocr_confidence": None},
])
def test_reads_avro_cannot_carry_are_refused(broken):
    with pytest.raises((ValueError, TypeError, KeyError)):
        read_record({**READ, **broken})
    incomplete = dict(READ)
    del incomplete["camera_id"]
    with pytest.raises(KeyError):
        read_record(incomplete)


def test_entry_and_camera_records():
    entry = entry_record({"list_name": "stolen_vehicles", "entry_id": "SV1", "op": "UPSERT", "plate": "1ABC123",
                          "valid_from": "2026-03-02T08:00:00Z", "severity": 90, "attributes": {"case": 7}})
    assert entry["valid_from"] == 1772438400000 and entry["valid_until"] is None
    assert entry["attributes"] == {"case": "7"} and entry["zone"] is None
    camera = camera_record({"camera_id": "C1", "lat": 50, "lon": 4.3, "lez_zones": ["BXL"]})
    assert camera == {"camera_id": "C1", "lat": 50.0, "lon": 4.3, "lez_zones": ["BXL"], "police_zone": None,
                      "province": None}
