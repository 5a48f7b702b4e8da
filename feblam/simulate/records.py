"""What a reference update looks like: the record of the ReferenceEntry contract,
the lists' names, and the pieces entries are made of (validity by the Brussels
calendar day, partial plates, case references, LEZ attributes).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from feblam.simulate.background import EntryBits
from udfs.instant import format_instant

STOLEN = "stolen_vehicles"
JUDICIAL = "judicial_alerts"
INSURANCE = "insurance_expired"
PERMITS = "lez_permits"
STATUS = "lez_vehicle_status"
LIST_NAMES = (STOLEN, JUDICIAL, INSURANCE, PERMITS, STATUS)
ENTRY_PREFIX = {STOLEN: ("SV", 8), JUDICIAL: ("JA", 8), INSURANCE: ("INS", 8),
                PERMITS: ("LP", 8), STATUS: ("VS", 10)}

UPSERT, DELETE = "UPSERT", "DELETE"
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
BRUSSELS = ZoneInfo("Europe/Brussels")
PARQUETS = ("AN", "BR", "GE", "BG", "LE", "LI", "CH", "NA", "MO", "HA", "KO", "TU", "ME",
            "DE", "OU", "IE", "VE", "NI", "AR", "DI", "EU", "HU", "MA")
FUELS = (("petrol", 45), ("diesel", 35), ("hybrid", 10), ("electric", 8), ("lpg", 2))
EURO = ("EURO 1", "EURO 2", "EURO 3", "EURO 4", "EURO 5", "EURO 6", "EURO 6d")
JUDICIAL_REASONS = (  # (reason, severity, covert, instructions)
    ("arrest warrant", 95, "false", "Intercept with backup; driver subject to an arrest warrant"),
    ("missing person", 80, "false", "Check occupants; report position to the dispatch centre"),
    ("surveillance", 60, "true", "Do not intercept; report position and direction discreetly"),
    ("SIS article 36", 70, "true", "Discreet check; report to SIRENE Belgium"),
    ("investigation", None, "false", "Intercept and identify the driver"),
)
# Who owns a judicial alert (its `owner` attribute, a destination of flink-conf/gateway.yaml):
# Schengen alerts SIRENE Belgium, the others the federal judicial police of the region.
SIS_REASON = "SIS article 36"
JUDICIAL_OWNERS = ("fjp-brussels", "fjp-antwerp", "fjp-ghent", "fjp-liege")
OWNER_OF_PROVINCE = {"BRU": "fjp-brussels", "VBR": "fjp-brussels", "WBR": "fjp-brussels",
                     "ANT": "fjp-antwerp", "LIM": "fjp-antwerp", "OVL": "fjp-ghent", "WVL": "fjp-ghent",
                     "HAI": "fjp-liege", "LIE": "fjp-liege", "LUX": "fjp-liege", "NAM": "fjp-liege"}


def judicial_owner(reason: str, unit: str) -> str:
    """The owner of a judicial alert for `reason`, filed by the region of `unit`."""
    return "sirene" if reason == SIS_REASON else unit


def entry_record(list_name: str, plate: str | None, *, op: str = UPSERT,
                 country: str | None = None, valid_from: int | None = None,
                 valid_until: int | None = None, severity: int | None = None,
                 zone: str | None = None, attributes: dict | None = None) -> dict:
    """A reference update with every field of the contract; instants as ISO text."""
    return {
        "list_name": list_name,
        "entry_id": None,
        "op": op,
        "plate": plate,
        "country": country,
        "valid_from": None if valid_from is None else format_instant(valid_from),
        "valid_until": None if valid_until is None else format_instant(valid_until),
        "severity": severity,
        "zone": zone,
        "attributes": attributes or {},
    }


def delete_record(list_name: str, entry_id: str) -> dict:
    record = entry_record(list_name, None, op=DELETE)
    record["entry_id"] = entry_id
    return record


def local_midnight(ms: int) -> int:
    """The Europe/Brussels midnight that starts the local day of ``ms``."""
    local = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(BRUSSELS)
    midnight = datetime(local.year, local.month, local.day, tzinfo=BRUSSELS)
    return int(midnight.timestamp() * 1000)


def local_date(ms: int) -> str:
    """The Europe/Brussels calendar date of ``ms``, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(BRUSSELS).date().isoformat()


def next_local_midnight(ms: int) -> int:
    start = datetime.fromtimestamp(local_midnight(ms) / 1000, tz=BRUSSELS)
    following = (start + timedelta(days=1, hours=3)).replace(hour=0)
    return int(following.timestamp() * 1000)


def wildcard_pattern(printed: str, mode: int, rng_bits: int) -> str:
    """A partial plate as a witness gives it, from the printed plate ``printed``.

    Modes: 0 one ``?``, 1 two ``?`` (separators kept), 2 the start then ``*``,
    3 ``*`` then the end. Always at most two wildcards and at least four other
    characters (spec §4).
    """
    canon = "".join(ch for ch in printed if ch.isalnum())
    if mode == 1 and len(canon) < 6:
        mode = 0
    if mode in (0, 1):
        alnum = [i for i, ch in enumerate(printed) if ch.isalnum()]
        first = alnum[rng_bits % len(alnum)]
        hidden = {first}
        if mode == 1:
            hidden.add(alnum[(rng_bits // len(alnum) + 1 + alnum.index(first)) % len(alnum)])
            if len(hidden) < 2:
                hidden.add(alnum[(alnum.index(first) + 1) % len(alnum)])
        return "".join("?" if i in hidden else ch for i, ch in enumerate(printed))
    keep = max(4, len(canon) - 2)
    return canon[:keep] + "*" if mode == 2 else "*" + canon[-keep:]


def case_ref(bits: EntryBits, year: int) -> str:
    return (f"{PARQUETS[bits.take(len(PARQUETS))]}.{10 + bits.take(90)}.L{1 + bits.take(9)}."
            f"{1 + bits.take(999_999):06d}/{year % 100:02d}")


def fuel_and_norm(bits: EntryBits, admitted: bool) -> tuple[str, str]:
    draw, total = bits.take(100), 0
    fuel = FUELS[-1][0]
    for name, weight in FUELS:
        total += weight
        if draw < total:
            fuel = name
            break
    if not admitted:
        return "diesel", EURO[bits.take(4)]           # EURO 1..4 diesel: refused
    if fuel == "diesel":
        return fuel, EURO[4 + bits.take(3)]
    return fuel, EURO[2 + bits.take(5)]


def exemption(plate: str, country: str | None, zone: str, start_ms: int, days: int) -> dict:
    """A yearly LEZ exemption for ``zone`` that began ``days`` before ``start_ms``."""
    return entry_record(PERMITS, plate, country=country, zone=zone,
                        valid_from=local_midnight(start_ms - days * DAY),
                        valid_until=local_midnight(start_ms + (365 - days) * DAY),
                        attributes={"permit_type": "exemption",
                                    "reason": "adapted vehicle (disability)"})


def day_pass(plate: str, country: str | None, zone: str, day_ms: int) -> dict:
    """A LEZ day pass for ``zone``, valid for the whole Brussels calendar day of ``day_ms``."""
    return entry_record(PERMITS, plate, country=country, zone=zone,
                        valid_from=local_midnight(day_ms), valid_until=next_local_midnight(day_ms),
                        attributes={"permit_type": "day_pass"})
