"""The reference lists of the simulation, as a stream of updates (spec §1, §10).

``ReferenceLists.updates()`` yields the snapshot of every list (each entry an
UPSERT, the list's background entries with the fleet's entries placed at random
among them), then the updates that arrive *while the reads flow*, in arrival
order. Each update carries ``arrival_ms``: ``None`` for the snapshot (known
before the run starts), else the instant it arrives, so a streaming writer can
interleave updates with reads.

Lists: ``stolen_vehicles``, ``judicial_alerts`` (some entries partial plates
with ``?``/``*``), ``insurance_expired`` (a list the default configuration does
not name: an alert list with the defaults), ``lez_permits`` (exemptions and day
passes, each for one zone and a validity window) and ``lez_vehicle_status`` (by
far the largest; ``attributes.admitted`` ``"true"``/``"false"``, no zone = all
zones). Every record has all the fields of the ReferenceEntry contract.

Updates during the run tell small stories, each readable in the hits:
a vehicle reported stolen (UPSERT with ``valid_from`` = the report), a stolen
vehicle recovered (UPSERT closing its ``valid_until``), an entry filed in error
(UPSERT, then DELETE 25 minutes later), a judicial alert escalated (new
severity and instructions), day passes bought on the day; plus background
churn: deletions, changed entries and new entries in every list.

In the file mode the job applies the whole reference file before the first read
(spec §8), so there the *final* state decides: validity windows carry the
timing (a vehicle reported stolen at 14:10 hits only from 14:10), and an entry
upserted then deleted gives no hit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator, NamedTuple

from feblam.simulate import fleet as roles
from feblam.simulate.background import BackgroundPlates, EntryBits
from feblam.simulate.fleet import Fleet, Vehicle
from feblam.simulate.geography import LEZ_ZONES, TOWNS
from feblam.simulate.records import (
    DAY,
    ENTRY_PREFIX,
    HOUR,
    INSURANCE,
    JUDICIAL,
    JUDICIAL_OWNERS,
    JUDICIAL_REASONS,
    OWNER_OF_PROVINCE,
    LIST_NAMES,
    MINUTE,
    PERMITS,
    STATUS,
    STOLEN,
    case_ref,
    day_pass,
    delete_record,
    entry_record,
    exemption,
    fuel_and_norm,
    judicial_owner,
    local_date,
    local_midnight,
    wildcard_pattern,
)
from feblam.simulate.seeding import stream
from udfs.instant import format_instant

__all__ = ["LIST_NAMES", "ListSizes", "ReferenceLists", "ReferenceUpdate", "wildcard_pattern"]


class ReferenceUpdate(NamedTuple):
    """One reference update; ``arrival_ms`` is ``None`` for the snapshot."""

    record: dict
    arrival_ms: int | None


@dataclass(frozen=True)
class ListSizes:
    """Snapshot size of each list (fleet entries included)."""

    lez_vehicle_status: int
    lez_permits: int
    stolen_vehicles: int
    judicial_alerts: int
    insurance_expired: int

    @classmethod
    def for_lez(cls, lez_entries: int) -> "ListSizes":
        """The alert lists scale with the LEZ status list, within realistic bounds."""
        def clamp(value: int, low: int, high: int) -> int:
            return max(low, min(high, value))

        return cls(lez_entries, clamp(lez_entries // 10, 200, 200_000),
                   clamp(lez_entries // 10, 200, 200_000), clamp(lez_entries // 40, 100, 50_000),
                   clamp(lez_entries // 20, 100, 100_000))

    def of(self, list_name: str) -> int:
        return getattr(self, list_name)


class ReferenceLists:
    """The lists of one run; ``updates()`` streams them (see the module docstring)."""

    def __init__(self, seed: int, fleet: Fleet, sizes: ListSizes, start_ms: int, end_ms: int):
        self.seed = seed
        self.fleet = fleet
        self.sizes = sizes
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.year = datetime.fromtimestamp(start_ms / 1000, tz=timezone.utc).year
        self.rng = stream(seed, "lists")
        fleet_plates = frozenset(v.plate.canon for v in fleet.vehicles)
        self.plates = {name: BackgroundPlates(seed, name, fleet_plates) for name in LIST_NAMES}

    # ----------------------------------------------------------------- stream

    def updates(self) -> Iterator[ReferenceUpdate]:
        """The snapshot of every list, then the run's updates by arrival time."""
        later: list[tuple[int, int, dict]] = []
        fleet_ids: dict[tuple[str, int], str] = {}
        for list_name in LIST_NAMES:
            fleet_entries = self._fleet_entries(list_name)
            total = max(self.sizes.of(list_name), len(fleet_entries))
            background = total - len(fleet_entries)
            churn = self._churn_targets(list_name, background)
            positions = sorted(self.rng.sample(range(total), len(fleet_entries)))
            prefix, width = ENTRY_PREFIX[list_name]
            make = self._background(list_name)
            next_fleet, j = 0, 0
            for n in range(total):
                if next_fleet < len(positions) and positions[next_fleet] == n:
                    key, record = fleet_entries[next_fleet]
                    next_fleet += 1
                else:
                    key, record = None, make(j)
                    if j in churn:
                        churn[j] = f"{prefix}{n:0{width}d}"
                    j += 1
                record["entry_id"] = f"{prefix}{n:0{width}d}"
                if key is not None:
                    fleet_ids[key] = record["entry_id"]
                yield ReferenceUpdate(record, None)
            later.extend(self._churn(list_name, churn, background, total, make))
        later.extend(self._stories(fleet_ids))
        later.sort(key=lambda item: (item[0], item[1]))
        for arrival, _, record in later:
            yield ReferenceUpdate(record, arrival)

    def _arrival(self, fraction_low: float = 0.0, fraction_high: float = 1.0) -> int:
        span = self.end_ms - self.start_ms
        return self.start_ms + int(span * self.rng.uniform(fraction_low, fraction_high))

    # ---------------------------------------------------------- fleet entries

    def _fleet_entries(self, list_name: str) -> list[tuple[tuple[str, int] | None, dict]]:
        """(key, record) of the entries about simulated vehicles; the key names
        entries that a story updates later."""
        rng, out = self.rng, []
        if list_name == STOLEN:
            for v in self.fleet.role(roles.STOLEN) + self.fleet.role(roles.RECOVERED_MIDRUN):
                out.append(((STOLEN, v.vehicle_id), self._stolen(v, rng)))
            original, _ = self.fleet.clone_pairs[0]
            v = self.fleet.vehicles[original]
            record = entry_record(STOLEN, v.plate.display(), country=v.country,
                                  valid_from=self.start_ms - 40 * DAY,
                                  attributes={"case_ref": self._ref(), "object": "licence plates",
                                              "instructions": "Plates reported stolen: check "
                                              "the vehicle identification number"})
            out.append(((STOLEN, original), record))
        elif list_name == JUDICIAL:
            for v in self.fleet.role(roles.JUDICIAL):
                out.append(((JUDICIAL, v.vehicle_id), self._judicial(v, rng)))
            for v in self.fleet.role(roles.WARRANT_ENDS_MIDRUN):
                record = self._judicial(v, rng, reason=0)
                midrun = self.start_ms + (self.end_ms - self.start_ms) // 2
                record["valid_until"] = format_instant(midrun - midrun % MINUTE)
                out.append(((JUDICIAL, v.vehicle_id), record))
            for v in self.fleet.role(roles.ESCALATED):
                record = self._judicial(v, rng, reason=4)
                record["severity"] = 80
                out.append(((JUDICIAL, v.vehicle_id), record))
            for k, v in enumerate(self.fleet.role(roles.JUDICIAL_WILDCARD)):
                pattern = wildcard_pattern(v.plate.display(), k % 4, rng.getrandbits(32))
                out.append((None, entry_record(
                    JUDICIAL, pattern, country=rng.choice((v.country, None)),
                    valid_from=self.start_ms - rng.randint(1, 60) * DAY,
                    attributes={"case_ref": self._ref(), "reason": "investigation",
                                "instructions": f"Partial plate from a witness: {v.colour} "
                                f"{v.make}; identify the driver", "covert": "false"})))
        elif list_name == INSURANCE:
            for v in self.fleet.role(roles.INSURANCE):
                expired = local_midnight(self.start_ms - rng.randint(10, 200) * DAY)
                out.append((None, entry_record(
                    INSURANCE, v.plate.display(), country=v.country, valid_from=expired,
                    attributes={"expired_on": local_date(expired),
                                "source": "insurer notification"})))
        elif list_name == PERMITS:
            for v in self._drivers():
                if v.lez_permit_zone:
                    out.append((None, exemption(v.plate.display(), v.country, v.lez_permit_zone,
                                                self.start_ms, rng.randint(10, 300))))
                if v.lez_day_pass_zone and v.vehicle_id % 2 == 0:
                    out.append((None, day_pass(v.plate.display(), v.country,
                                               v.lez_day_pass_zone, self.start_ms)))
        elif list_name == STATUS:
            for v in self._drivers():
                out.extend((None, r) for r in self._status(v))
        return out

    def _drivers(self) -> list[Vehicle]:
        # A clone carries another vehicle's plate: the lists know the plate once.
        return [v for v in self.fleet.vehicles if v.clone_of is None]

    def _ref(self) -> str:
        return case_ref(EntryBits(self.rng.getrandbits(64)), self.year)

    def _stolen(self, v: Vehicle, rng: random.Random) -> dict:
        return entry_record(
            STOLEN, v.plate.display(rng.choice(("native", "native", "compact"))),
            country=v.country if rng.random() < 0.75 else None,
            valid_from=self.start_ms - rng.randint(HOUR, 400 * DAY),
            severity=80 if rng.random() < 0.1 else None,
            attributes={"case_ref": self._ref(), "object": "vehicle",
                        "reported_by": TOWNS[v.home_town].police_zone,
                        "instructions": "Intercept and check the vehicle; reported stolen",
                        "description": f"{v.colour} {v.make}"})

    def _judicial(self, v: Vehicle, rng: random.Random, reason: int | None = None) -> dict:
        name, severity, covert, instructions = JUDICIAL_REASONS[
            rng.randrange(len(JUDICIAL_REASONS)) if reason is None else reason]
        return entry_record(
            JUDICIAL, v.plate.display(), country=v.country if rng.random() < 0.8 else None,
            valid_from=self.start_ms - rng.randint(HOUR, 200 * DAY), severity=severity,
            attributes={"case_ref": self._ref(), "reason": name, "covert": covert,
                        "instructions": instructions,
                        "owner": judicial_owner(name, OWNER_OF_PROVINCE[TOWNS[v.home_town].province])})

    def _status(self, v: Vehicle) -> list[dict]:
        if v.lez == roles.LEZ_UNREGISTERED:
            return []
        bits = EntryBits(self.rng.getrandbits(64))
        admitted = v.lez != roles.LEZ_NOT_ADMITTED
        fuel, norm = fuel_and_norm(bits, admitted)
        out = [entry_record(STATUS, v.plate.display(), country=v.country,
                            attributes={"admitted": "true" if admitted else "false",
                                        "euro_norm": norm, "fuel": fuel})]
        if v.lez == roles.LEZ_NOT_ADMITTED_BXL:
            out.append(entry_record(STATUS, v.plate.display(), country=v.country, zone="BXL",
                                    attributes={"admitted": "false", "euro_norm": "EURO 5",
                                                "fuel": "diesel"}))
        return out

    # ----------------------------------------------------- background entries

    def _background(self, list_name: str) -> Callable[[int], dict]:
        plates = self.plates[list_name]
        start = self.start_ms

        def status(j: int) -> dict:
            b, plate = plates.bits(j), plates.plate(j)
            zoned = b.take(100) < 3
            admitted = b.take(100) >= (80 if zoned else 7)
            fuel, norm = fuel_and_norm(b, admitted)
            zone = (LEZ_ZONES[b.take(3)] if b.take(2) else "BXL") if zoned else None
            return entry_record(STATUS, plate.display(), country=plate.country, zone=zone,
                                attributes={"admitted": "true" if admitted else "false",
                                            "euro_norm": norm, "fuel": fuel})

        def permit(j: int) -> dict:
            b, plate = plates.bits(j), plates.plate(j)
            zone = LEZ_ZONES[b.take(3)]
            if b.take(10) < 7:
                return day_pass(plate.display(), plate.country, zone,
                                start + (b.take(41) - 20) * DAY)
            return exemption(plate.display(), plate.country, zone, start, 1 + b.take(360))

        def stolen(j: int) -> dict:
            b, plate = plates.bits(j), plates.plate(j)
            foreign = plate.country != "BE"
            return entry_record(
                STOLEN, plate.display(), country=plate.country if b.take(4) else None,
                valid_from=start - HOUR - b.take(1500) * DAY - b.take(DAY),
                valid_until=start + (365 + b.take(3 * 365)) * DAY if foreign else None,
                severity=80 if b.take(10) == 0 else None,
                attributes={"case_ref": case_ref(b, self.year),
                            "object": "licence plates" if b.take(20) == 0 else "vehicle",
                            "instructions": "Intercept and check the vehicle; reported stolen"})

        def judicial(j: int) -> dict:
            b, plate = plates.bits(j), plates.plate(j)
            name, severity, covert, instructions = JUDICIAL_REASONS[b.take(len(JUDICIAL_REASONS))]
            text = plate.display()
            if b.take(100) == 0:
                text = wildcard_pattern(text, b.take(4), b.take(1 << 16))
            return entry_record(
                JUDICIAL, text, country=plate.country if b.take(5) else None,
                valid_from=start - HOUR - b.take(700) * DAY, severity=severity,
                attributes={"case_ref": case_ref(b, self.year), "reason": name,
                            "covert": covert, "instructions": instructions,
                            "owner": judicial_owner(name, JUDICIAL_OWNERS[j % len(JUDICIAL_OWNERS)])})

        def insurance(j: int) -> dict:
            b, plate = plates.bits(j), plates.plate(j)
            expired = local_midnight(start - b.take(400) * DAY)
            return entry_record(INSURANCE, plate.display(), country=plate.country,
                                valid_from=expired,
                                attributes={"expired_on": local_date(expired),
                                            "source": "insurer notification"})

        return {STATUS: status, PERMITS: permit, STOLEN: stolen, JUDICIAL: judicial,
                INSURANCE: insurance}[list_name]

    def _churn_targets(self, list_name: str, background: int) -> dict[int, str | None]:
        """Background entries that change during the run: index -> entry id (filled in
        while the snapshot streams)."""
        count = min(background, max(3, self.sizes.of(list_name) // 1000))
        return dict.fromkeys(sorted(self.rng.sample(range(background), count)))

    def _churn(self, list_name: str, targets: dict[int, str | None], background: int,
               total: int, make: Callable[[int], dict]) -> list[tuple[int, int, dict]]:
        out = []
        prefix, width = ENTRY_PREFIX[list_name]
        for j, entry_id in targets.items():
            arrival = self._arrival()
            if self.rng.random() < 0.4:
                record = delete_record(list_name, entry_id)
            else:
                record = make(j)
                record["entry_id"] = entry_id
                attributes = record["attributes"]
                if list_name == STATUS:
                    attributes["admitted"] = "false" if attributes["admitted"] == "true" else "true"
                else:
                    record["valid_until"] = format_instant(arrival)
            out.append((arrival, len(out), record))
        for k in range(len(targets)):
            arrival = self._arrival()
            record = make(background + k)  # a plate the snapshot does not hold
            record["entry_id"] = f"{prefix}{total + k:0{width}d}"
            if list_name != PERMITS:
                record["valid_from"] = format_instant(arrival)
            out.append((arrival, len(out), record))
        return out

    # ------------------------------------------------------------ the stories

    def _stories(self, ids: dict[tuple[str, int], str]) -> list[tuple[int, int, dict]]:
        out: list[tuple[int, int, dict]] = []
        fleet, rng = self.fleet, self.rng

        def add(arrival: int, record: dict) -> None:
            out.append((arrival, 1_000_000 + len(out), record))

        for k, v in enumerate(fleet.role(roles.REPORTED_STOLEN_MIDRUN)):
            arrival = self._arrival(0.3, 0.4)
            record = self._stolen(v, rng)
            record["entry_id"] = f"SV-R{k + 1:06d}"
            record["valid_from"] = format_instant(arrival)
            add(arrival, record)
        for v in fleet.role(roles.RECOVERED_MIDRUN):
            arrival = self._arrival(0.5, 0.6)
            record = self._stolen(v, rng)
            record["entry_id"] = ids[(STOLEN, v.vehicle_id)]
            record["valid_until"] = format_instant(arrival)
            record["attributes"]["status"] = "recovered"
            add(arrival, record)
        for k, v in enumerate(fleet.role(roles.ENTERED_IN_ERROR)):
            arrival = self._arrival(0.15, 0.25)
            record = self._stolen(v, rng)
            record["entry_id"] = f"SV-E{k + 1:06d}"
            add(arrival, record)
            add(arrival + 25 * MINUTE, delete_record(STOLEN, record["entry_id"]))
        for v in fleet.role(roles.ESCALATED):
            arrival = self._arrival(0.4, 0.5)
            record = self._judicial(v, rng, reason=0)
            record["entry_id"] = ids[(JUDICIAL, v.vehicle_id)]
            record["severity"] = 100
            record["attributes"]["instructions"] = "Armed and dangerous: do not intercept alone"
            add(arrival, record)
        for v in self._drivers():
            if v.lez_day_pass_zone and v.vehicle_id % 2 == 1:
                # Bought on the day, before driving in: valid for the whole local day.
                arrival = self._arrival(0.0, 0.3)
                record = day_pass(v.plate.display(), v.country, v.lez_day_pass_zone,
                                        self.start_ms)
                record["entry_id"] = f"LP-D{v.vehicle_id:07d}"
                add(arrival, record)
        return out
