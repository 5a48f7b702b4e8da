"""List configuration as typed settings (spec §4, §5, §6 values marked *(config)*).

``MatchingSettings()`` holds the spec's defaults. ``load_settings(path)`` reads a
YAML file that overrides them; unknown keys and bad values are refused at load
with a ``ConfigError`` naming the offending key, never discovered mid-stream.

YAML shape (every key optional)::

    ocr_classes: ["0ODQ", "1I", "2Z", "5S", "6G", "8B"]
    lez:
      confidence_floor: 0.80
      not_admitted_severity: 20
      unregistered_severity: 10
    default_list:            # any alert list the file does not name
      max_ocr_substitutions: 0
      severity: 50
      dedup_window: 10 min
    lists:
      stolen_vehicles: {max_ocr_substitutions: 1, severity: 70, dedup_window: 10 min}
      lez_vehicle_status: {kind: lez_status}
    dedup:                   # de-duplication state (spec §7 "State"), in event time
      allowed_lateness: 6 h  # a read further behind the job's clock is late
      state_retention: 48 h  # the longest a key's state is kept after its last hit
    clones:                  # clone suspicion (spec §11)
      enabled: true
      confidence_floor: 0.90
      window: 6 h            # how far apart in event time a read's partner may be
      min_distance_km: 5
      max_speed_kmh: 250
      severity: 40
      buckets: 16            # keys of the job's clone step: its most parallelism
    dead_letter_guard:       # a dead-letter share that is an incident (udfs.deadletter_guard)
      max_share: 0.5         # more than this share of a window's reads dead-lettered trips it
      min_reads: 1000        # reads a window needs before it is judged
      fail_job: true         # trip = the job fails (false: an ERROR line and a metric only)

Durations are text with a unit: ``500 ms``, ``30 s``, ``10 min`` (or ``10m``), ``1 h``.

A key's state is kept for its last window (an alert list's ``dedup_window``
after its last hit; for LEZ keys the rest of the Brussels day, at most 25 h)
plus ``allowed_lateness``. A configuration in which that exceeds
``state_retention`` is refused at load: the ``dedup_window`` of every alert list
(the default list included) plus ``allowed_lateness``, and, when a LEZ status
list is configured, 25 h plus ``allowed_lateness``. The message names the list
(or ``dedup.allowed_lateness``) and the numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from udfs.clones import CloneSettings
from udfs.deadletter_guard import DeadLetterGuardSettings
from udfs.dedup import DEFAULT_ALLOWED_LATENESS_MS, HOUR_MS, LONGEST_LOCAL_DAY_MS

ALERT = "alert"
LEZ_STATUS = "lez_status"
LEZ_PERMIT = "lez_permit"
KINDS = (ALERT, LEZ_STATUS, LEZ_PERMIT)

MAX_SUBSTITUTIONS_LIMIT = 12  # no canonical read is longer
MAX_DURATION_MS = 10**12      # some 31 years: beyond it a duration is a typing error
DEFAULT_STATE_RETENTION_MS = 48 * HOUR_MS
# The clone step's max parallelism (its key groups): each bucket's key has a key group
# of its own (jobs.hit_generation), so there are at most as many buckets.
CLONE_MAX_PARALLELISM = 128


class ConfigError(ValueError):
    """A configuration refused at load; the message names the key and the problem."""


@dataclass(frozen=True, slots=True)
class ListSettings:
    """Settings of one list. ``dedup_window_ms`` applies to alert lists (spec §7)."""

    kind: str = ALERT
    max_ocr_substitutions: int = 0
    severity: int = 50
    dedup_window_ms: int = 600_000


DEFAULT_ALERT = ListSettings()
DEFAULT_LISTS: Mapping[str, ListSettings] = {
    "stolen_vehicles": ListSettings(max_ocr_substitutions=1, severity=70),
    "judicial_alerts": ListSettings(max_ocr_substitutions=2, severity=90),
    "lez_vehicle_status": ListSettings(kind=LEZ_STATUS),
    "lez_permits": ListSettings(kind=LEZ_PERMIT),
}
DEFAULT_OCR_CLASSES = ("0ODQ", "1I", "2Z", "5S", "6G", "8B")


@dataclass(frozen=True, slots=True)
class MatchingSettings:
    """Everything configurable about matching, with the spec's defaults."""

    lists: Mapping[str, ListSettings] = field(default_factory=lambda: dict(DEFAULT_LISTS))
    default_list: ListSettings = DEFAULT_ALERT
    ocr_classes: tuple[str, ...] = DEFAULT_OCR_CLASSES
    lez_confidence_floor: float = 0.80
    lez_not_admitted_severity: int = 20
    lez_unregistered_severity: int = 10
    dedup_allowed_lateness_ms: int = DEFAULT_ALLOWED_LATENESS_MS
    dedup_state_retention_ms: int = DEFAULT_STATE_RETENTION_MS
    clones: CloneSettings = CloneSettings()
    dead_letter_guard: DeadLetterGuardSettings = DeadLetterGuardSettings()

    def __post_init__(self) -> None:
        _check_classes(self.ocr_classes, "ocr_classes")
        for name, settings in self.lists.items():
            _check_list(settings, f"lists.{name}")
        _check_list(self.default_list, "default_list")
        if self.default_list.kind != ALERT:
            raise ConfigError("default_list.kind: the default list is an alert list")
        for kind in (LEZ_STATUS, LEZ_PERMIT):
            names = [n for n, s in self.lists.items() if s.kind == kind]
            if len(names) > 1:
                raise ConfigError(f"lists: at most one list of kind {kind}, got {names}")
        _check_fraction(self.lez_confidence_floor, "lez.confidence_floor")
        _check_severity(self.lez_not_admitted_severity, "lez.not_admitted_severity")
        _check_severity(self.lez_unregistered_severity, "lez.unregistered_severity")
        _check_clones(self.clones)
        _check_guard(self.dead_letter_guard)
        self._check_retention()

    def _check_retention(self) -> None:
        """Spec §7: a window the retention cannot honour is refused at load."""
        lateness, retention = self.dedup_allowed_lateness_ms, self.dedup_state_retention_ms
        _check_int(lateness, "dedup.allowed_lateness", 0, MAX_DURATION_MS)
        _check_int(retention, "dedup.state_retention", 0, MAX_DURATION_MS)
        alert_lists = [(f"lists.{n}", s) for n, s in self.lists.items() if s.kind == ALERT]
        for where, settings in alert_lists + [("default_list", self.default_list)]:
            kept = settings.dedup_window_ms + lateness
            if kept > retention:
                raise ConfigError(
                    f"{where}.dedup_window: {format_duration(settings.dedup_window_ms)} + "
                    f"dedup.allowed_lateness {format_duration(lateness)} = "
                    f"{format_duration(kept)} exceeds dedup.state_retention "
                    f"{format_duration(retention)}")
        kept = LONGEST_LOCAL_DAY_MS + lateness
        if self.lez_list(LEZ_STATUS) is not None and kept > retention:
            raise ConfigError(
                f"dedup.allowed_lateness: a LEZ day of up to "
                f"{format_duration(LONGEST_LOCAL_DAY_MS)} + {format_duration(lateness)} = "
                f"{format_duration(kept)} exceeds dedup.state_retention "
                f"{format_duration(retention)}")

    def for_list(self, name: str) -> ListSettings:
        """The settings of ``name``; a list nobody configured is a default alert list."""
        return self.lists.get(name) or self.default_list

    def lez_list(self, kind: str) -> str | None:
        """The name of the list of LEZ ``kind``, or ``None`` when none is configured."""
        for name, settings in self.lists.items():
            if settings.kind == kind:
                return name
        return None


def _check_int(value: Any, where: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}: must be an integer in {low}..{high}, got {value!r}")


def _check_severity(value: Any, where: str) -> None:
    _check_int(value, where, 0, 100)


def _check_fraction(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"{where}: must be a number in [0, 1], got {value!r}")


def _check_positive(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) < float("inf"):
        raise ConfigError(f"{where}: must be a positive number, got {value!r}")


def _check_clones(settings: CloneSettings) -> None:
    if not isinstance(settings.enabled, bool):
        raise ConfigError(f"clones.enabled: must be true or false, got {settings.enabled!r}")
    _check_fraction(settings.confidence_floor, "clones.confidence_floor")
    _check_int(settings.window_ms, "clones.window", 0, MAX_DURATION_MS)
    _check_positive(settings.min_distance_km, "clones.min_distance_km")
    _check_positive(settings.max_speed_kmh, "clones.max_speed_kmh")
    _check_severity(settings.severity, "clones.severity")
    _check_int(settings.buckets, "clones.buckets", 1, CLONE_MAX_PARALLELISM)


def _check_guard(settings: DeadLetterGuardSettings) -> None:
    if not isinstance(settings.fail_job, bool):
        raise ConfigError(f"dead_letter_guard.fail_job: must be true or false, got {settings.fail_job!r}")
    # A share of 1 could never be exceeded: the guard would be off without saying so.
    if isinstance(settings.max_share, bool) or not isinstance(settings.max_share, (int, float)) \
            or not 0.0 <= float(settings.max_share) < 1.0:
        raise ConfigError(f"dead_letter_guard.max_share: must be a number in [0, 1), got {settings.max_share!r}")
    _check_int(settings.min_reads, "dead_letter_guard.min_reads", 1, 10**9)


def _check_list(settings: ListSettings, where: str) -> None:
    if settings.kind not in KINDS:
        raise ConfigError(f"{where}.kind: must be one of {', '.join(KINDS)}, "
                          f"got {settings.kind!r}")
    _check_int(settings.max_ocr_substitutions, f"{where}.max_ocr_substitutions", 0,
               MAX_SUBSTITUTIONS_LIMIT)
    _check_severity(settings.severity, f"{where}.severity")
    _check_int(settings.dedup_window_ms, f"{where}.dedup_window", 0, MAX_DURATION_MS)


def _check_classes(classes: Any, where: str) -> None:
    if not isinstance(classes, tuple):
        raise ConfigError(f"{where}: must be a list of strings")
    seen: set[str] = set()
    for i, cls in enumerate(classes):
        if not isinstance(cls, str) or len(cls) < 2 or not re.fullmatch(r"[A-Z0-9]+", cls):
            raise ConfigError(f"{where}[{i}]: a class is two or more characters of A-Z0-9, "
                              f"got {cls!r}")
        for ch in cls:
            if ch in seen:
                # Overlapping classes would make "same class" non-transitive, and
                # the OCR-class key of the index could not exist.
                raise ConfigError(f"{where}[{i}]: character {ch!r} is in two classes")
            seen.add(ch)


_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|sec|m|min|h|d)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "sec": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000,
            "d": 86_400_000}


def parse_duration(value: Any, where: str) -> int:
    """Milliseconds of a duration text such as ``10 min``; refuses bare numbers."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ConfigError(f"{where}: a duration with a unit (ms, s, min, h, d) such as "
                          f"'10 min', got {value!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def format_duration(ms: int) -> str:
    """``ms`` as ``parse_duration`` reads it, in the largest unit that divides it."""
    for unit in ("h", "min", "s"):
        if ms and ms % _UNIT_MS[unit] == 0:
            return f"{ms // _UNIT_MS[unit]} {unit}"
    return f"{ms} ms"


_LIST_KEYS = {"kind", "max_ocr_substitutions", "severity", "dedup_window"}
_TOP_KEYS = {"ocr_classes", "lez", "default_list", "lists", "dedup", "clones", "dead_letter_guard"}
_GUARD_KEYS = {"max_share", "min_reads", "fail_job"}
_LEZ_KEYS = {"confidence_floor": "lez_confidence_floor",
             "not_admitted_severity": "lez_not_admitted_severity",
             "unregistered_severity": "lez_unregistered_severity"}
_DEDUP_KEYS = {"allowed_lateness": "dedup_allowed_lateness_ms",
               "state_retention": "dedup_state_retention_ms"}
_CLONE_KEYS = {"enabled": "enabled", "confidence_floor": "confidence_floor", "window": "window_ms",
               "min_distance_km": "min_distance_km", "max_speed_kmh": "max_speed_kmh", "severity": "severity",
               "buckets": "buckets"}


def _mapping(value: Any, where: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a mapping, got {type(value).__name__}")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(allowed)}")
    return value


def _list_settings(value: Any, where: str, base: ListSettings) -> ListSettings:
    spec = _mapping(value, where, _LIST_KEYS)
    changes = {k: v for k, v in spec.items() if k != "dedup_window"}
    if "dedup_window" in spec:
        changes["dedup_window_ms"] = parse_duration(spec["dedup_window"],
                                                    f"{where}.dedup_window")
    settings = replace(base, **changes)
    _check_list(settings, where)
    return settings


def settings_from_mapping(data: Any) -> MatchingSettings:
    """``MatchingSettings`` from a parsed YAML/JSON document (``None`` = all defaults)."""
    if data is None:
        return MatchingSettings()
    data = _mapping(data, "settings", _TOP_KEYS)
    kwargs: dict[str, Any] = {}
    if "ocr_classes" in data:
        classes = data["ocr_classes"]
        if not isinstance(classes, list):
            raise ConfigError(f"ocr_classes: must be a list of strings, got {classes!r}")
        kwargs["ocr_classes"] = tuple(classes)
    if "lez" in data:
        for key, value in _mapping(data["lez"], "lez", set(_LEZ_KEYS)).items():
            kwargs[_LEZ_KEYS[key]] = value
    if "dedup" in data:
        for key, value in _mapping(data["dedup"], "dedup", set(_DEDUP_KEYS)).items():
            kwargs[_DEDUP_KEYS[key]] = parse_duration(value, f"dedup.{key}")
    if "clones" in data:
        changes = {_CLONE_KEYS[key]: parse_duration(value, "clones.window") if key == "window" else value
                   for key, value in _mapping(data["clones"] or {}, "clones", set(_CLONE_KEYS)).items()}
        kwargs["clones"] = replace(CloneSettings(), **changes)
    if "dead_letter_guard" in data:
        changes = dict(_mapping(data["dead_letter_guard"] or {}, "dead_letter_guard", _GUARD_KEYS))
        kwargs["dead_letter_guard"] = replace(DeadLetterGuardSettings(), **changes)
    default = DEFAULT_ALERT
    if "default_list" in data:
        default = _list_settings(data["default_list"], "default_list", DEFAULT_ALERT)
        kwargs["default_list"] = default
    lists = dict(DEFAULT_LISTS)
    if "lists" in data:
        configured = data["lists"]
        if not isinstance(configured, dict):
            raise ConfigError("lists: must be a mapping of list name to settings")
        for name, value in configured.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"lists: list names are non-empty text, got {name!r}")
            base = lists.get(name, default)
            lists[name] = _list_settings(value or {}, f"lists.{name}", base)
    kwargs["lists"] = lists
    return MatchingSettings(**kwargs)


def load_settings(path: str | Path) -> MatchingSettings:
    """``MatchingSettings`` from a YAML file; raises ``ConfigError`` on any problem."""
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    try:
        return settings_from_mapping(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
