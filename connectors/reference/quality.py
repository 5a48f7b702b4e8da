"""The great-expectations suites of reference exports, one per list kind.

``prepare(raw, mapping)`` turns the records of a file into the frame the suite
checks: one column per mapped field present in the file, ``_row`` (the record's
1-based number in the file), and derived columns for the rules GX cannot state
directly, computed with the same ``udfs`` functions the job uses:
``plate_survives`` (the plate normalises to 1..12 characters), ``plate_wildcards_ok``
(spec §4: at most two wildcards and four other characters; none on LEZ lists,
which match exactly), ``valid_from_parses``/``valid_until_parses`` and their epoch
milliseconds ``valid_from_ms``/``valid_until_ms``, ``severity_ok`` (an integer 0..100).

Required columns: those of the kind (``REQUIRED``), every column the mapping
names, and every attribute column it lists (copied as ``attributes.<column>``).
``build_suite`` states the expectations of a kind; ``validate`` runs them in an
ephemeral data context (no files) and returns a ``QualityResult``: one ``Check``
per expectation, with the file rows that broke it. The HTML report of a load is
ours, written from that result by ``connectors.reference.report`` (GX's data docs
need the internet to render; that module says why).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from connectors.reference.mapping import FeedMapping
from udfs.config import ALERT, LEZ_PERMIT, LEZ_STATUS
from udfs.instant import BadInstant, parse_instant
from udfs.normalise import MAX_PLATE_LENGTH, WILDCARDS, canon_pattern
from udfs.reference import BAD_WILDCARD, check_pattern

ADMITTED_VALUES = ("true", "false")
REQUIRED = {ALERT: ("entry_id", "plate"), LEZ_STATUS: ("entry_id", "plate", "admitted"),
            LEZ_PERMIT: ("entry_id", "plate", "zone")}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DIGITS = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class Check:
    """One expectation's outcome: ``failing_rows`` are 1-based record numbers in the file."""

    expectation: str
    description: str
    column: str | None
    success: bool
    failing_rows: tuple[int, ...] = ()
    observed: Any = None
    error: str | None = None


@dataclass(frozen=True)
class QualityResult:
    success: bool
    checks: tuple[Check, ...]
    failures: tuple[Check, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failures", tuple(c for c in self.checks if not c.success))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def to_millis(value: Any) -> int | None:
    """Epoch millis of a date value of an export, ``None`` when missing; raises ``BadInstant``.

    Accepted: ISO-8601 text with an offset, a date ``YYYY-MM-DD`` (midnight UTC),
    epoch milliseconds (integer or digits), a timestamp (naive ones are UTC)."""
    if _missing(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        return int(stamp.value // 1_000_000)
    if isinstance(value, str):
        text = value.strip()
        if _DATE_ONLY.match(text):
            try:
                day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            except ValueError as error:
                raise BadInstant(f"not a date: {value!r}") from error
            return int(day.timestamp() * 1000)
        if _DIGITS.match(text):
            return int(text)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return parse_instant(value)


def _parsed_millis(value: Any) -> tuple[bool, float]:
    try:
        millis = to_millis(value)
    except BadInstant:
        return False, math.nan
    return True, math.nan if millis is None else float(millis)


def to_severity(value: Any) -> int | None:
    """The severity of an export value (``None`` when missing); ``ValueError`` when not 0..100."""
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _DIGITS.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError(f"severity must be an integer 0..100, got {value!r}")
    return value


def to_text(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _plate_checks(plate: Any, kind: str) -> tuple[bool, bool]:
    text = to_text(plate)
    if text is None:
        return True, True  # a missing plate is the not-null expectation's to report
    pattern = canon_pattern(text)
    literals = len(pattern) - sum(pattern.count(w) for w in WILDCARDS)
    survives = literals >= 1 and literals <= MAX_PLATE_LENGTH
    if kind == ALERT:
        wildcards_ok = check_pattern(pattern) != BAD_WILDCARD
    else:
        wildcards_ok = not any(w in pattern for w in WILDCARDS)
    return survives, wildcards_ok


def prepare(raw: pd.DataFrame, mapping: FeedMapping) -> pd.DataFrame:
    """The frame the suite checks (see the module doc). Fields whose column the file
    lacks are absent from it, so that their ``ExpectColumnToExist`` fails."""
    frame = pd.DataFrame({"_row": range(1, len(raw) + 1)}, index=raw.index)
    for name in ("entry_id", "plate", "country", "valid_from", "valid_until", "severity", "zone", "admitted"):
        column = mapping.column(name)
        if column in raw.columns:
            frame[name] = [to_text(v) if name in ("entry_id", "zone", "admitted", "country") else v
                           for v in raw[column]]
    for column in mapping.attributes:
        if column in raw.columns:
            frame[f"attributes.{column}"] = [to_text(v) for v in raw[column]]
    if "admitted" in frame:
        frame["admitted"] = [None if v is None else v.lower() for v in frame["admitted"]]
    if "plate" in frame:
        checks = [_plate_checks(v, mapping.kind) for v in frame["plate"]]
        frame["plate_survives"] = [c[0] for c in checks]
        frame["plate_wildcards_ok"] = [c[1] for c in checks]
    for bound in ("valid_from", "valid_until"):
        parsed = [_parsed_millis(v) for v in frame[bound]] if bound in frame else [(True, math.nan)] * len(raw)
        frame[f"{bound}_parses"] = [p[0] for p in parsed]
        frame[f"{bound}_ms"] = pd.Series([p[1] for p in parsed], index=raw.index, dtype="float64")
    if "severity" in frame:
        oks = []
        for value in frame["severity"]:
            try:
                to_severity(value)
                oks.append(True)
            except ValueError:
                oks.append(False)
        frame["severity_ok"] = oks
    return frame


def build_suite(mapping: FeedMapping, columns: set[str], published_count: int | None):
    """The ExpectationSuite for ``mapping.kind`` over a prepared frame with ``columns``.

    ``published_count``: entries of the published list; when > 0, the row count must
    stay within ``mapping.row_count_change`` of it."""
    import great_expectations as gx
    from great_expectations import expectations as gxe

    suite = gx.ExpectationSuite(name=f"{mapping.list_name}-{mapping.kind}")

    def add(expectation, description: str) -> None:
        expectation.description = description
        suite.add_expectation(expectation)

    source = mapping.column
    for name in REQUIRED[mapping.kind]:
        add(gxe.ExpectColumnToExist(column=name), f"required column {source(name)!r} ({name}) is present")
    # A column the mapping names must be there: an export that lost it has changed shape.
    for name in mapping.columns:
        if name not in REQUIRED[mapping.kind]:
            add(gxe.ExpectColumnToExist(column=name), f"mapped column {source(name)!r} ({name}) is present")
    for column in mapping.attributes:
        add(gxe.ExpectColumnToExist(column=f"attributes.{column}"),
            f"mapped attribute column {column!r} is present")
    for name in REQUIRED[mapping.kind]:
        if name in columns:
            add(gxe.ExpectColumnValuesToNotBeNull(column=name), f"every row has a {source(name)!r} ({name})")
    if "entry_id" in columns:
        add(gxe.ExpectColumnValuesToBeUnique(column="entry_id"), f"{source('entry_id')!r} is unique")
    if "plate" in columns:
        add(gxe.ExpectColumnValuesToBeInSet(column="plate_survives", value_set=[True]),
            f"{source('plate')!r} normalises to 1..{MAX_PLATE_LENGTH} characters A-Z 0-9")
        rule = ("at most 2 wildcards (? *) and at least 4 other characters" if mapping.kind == ALERT
                else "no wildcards (LEZ lists match plates exactly)")
        add(gxe.ExpectColumnValuesToBeInSet(column="plate_wildcards_ok", value_set=[True]),
            f"{source('plate')!r}: {rule}")
    for bound in ("valid_from", "valid_until"):
        if bound in columns:
            add(gxe.ExpectColumnValuesToBeInSet(column=f"{bound}_parses", value_set=[True]),
                f"{source(bound)!r} is empty or a date/instant (ISO-8601 with offset, YYYY-MM-DD, epoch ms)")
    if "valid_from" in columns and "valid_until" in columns:
        add(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="valid_until_ms", column_B="valid_from_ms", or_equal=False,
            ignore_row_if="either_value_is_missing"),
            f"{source('valid_from')!r} is before {source('valid_until')!r}")
    if "severity" in columns:
        add(gxe.ExpectColumnValuesToBeInSet(column="severity_ok", value_set=[True]),
            f"{source('severity')!r} is empty or an integer 0..100")
    if mapping.kind == LEZ_STATUS and "admitted" in columns:
        add(gxe.ExpectColumnValuesToBeInSet(column="admitted", value_set=list(ADMITTED_VALUES)),
            f"{source('admitted')!r} is 'true' or 'false'")
    if mapping.kind in (LEZ_STATUS, LEZ_PERMIT) and mapping.zones is not None and "zone" in columns:
        add(gxe.ExpectColumnValuesToBeInSet(column="zone", value_set=list(mapping.zones)),
            f"{source('zone')!r} is a known zone: {', '.join(mapping.zones)}")
    if published_count:
        change = mapping.row_count_change
        low, high = math.ceil(published_count * (1 - change)), math.floor(published_count * (1 + change))
        add(gxe.ExpectTableRowCountToBeBetween(min_value=max(low, 0), max_value=high),
            f"row count within {change:.0%} of the {published_count} published entries ({max(low, 0)}..{high})")
    return suite


def validate(frame: pd.DataFrame, mapping: FeedMapping, published_count: int | None) -> QualityResult:
    """Run the suite of ``mapping.kind`` on ``frame``, in an ephemeral context (no files)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_pandas("reference_exports")
    asset = source.add_dataframe_asset(name=mapping.list_name)
    batch = asset.add_batch_definition_whole_dataframe("file")
    suite = context.suites.add(build_suite(mapping, set(frame.columns), published_count))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{mapping.list_name}-load", data=batch, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=f"{mapping.list_name}-checkpoint", validation_definitions=[definition], actions=[],
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"]}))
    outcome = checkpoint.run(batch_parameters={"dataframe": frame})
    checks = []
    for run in outcome.run_results.values():
        for result in run.results:
            config = result.expectation_config
            rows = tuple(sorted({int(item["_row"]) for item in (result.result or {}).get("unexpected_index_list") or []
                                 if isinstance(item, dict) and "_row" in item}))
            info = result.exception_info or {}
            error = info.get("exception_message") if info.get("raised_exception") else None
            checks.append(Check(expectation=config.type, description=config.description or config.type,
                                column=config.kwargs.get("column") or config.kwargs.get("column_A"),
                                success=bool(result.success), failing_rows=rows,
                                observed=_plain((result.result or {}).get("observed_value")), error=error))
    return QualityResult(success=bool(outcome.success), checks=tuple(checks))


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    try:
        return value.item()
    except AttributeError:
        return str(value)
