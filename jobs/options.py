"""The hit-generation job's matching options, shared by its two doors.

`jobs/hit_generation.py` (the Kafka job) and `feblam run` (the same chain over
files) take the list configuration the same way: a YAML file (`--config`, read
by `udfs.config.load_settings`), of which the de-duplication settings an
operator tunes most can be overridden on the command line. One function reads
them, so the two modes cannot disagree on what an option means.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from udfs.config import ConfigError, MatchingSettings, format_duration, load_settings, parse_duration


def _duration(text: str) -> int:
    """A duration option's value in ms; argparse puts the option's name before the error."""
    try:
        return parse_duration(text, "")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix(": ")) from None


def add_matching_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --config, --allowed-lateness and --state-retention as one group;
    `matching_settings(args)` reads them."""
    defaults = MatchingSettings()
    group = parser.add_argument_group("matching (docs/hits.md §12)")
    group.add_argument("--config", type=Path, metavar="FILE",
                       help="list configuration (YAML: lists, LEZ, de-duplication, clone suspicion, the dead-letter guard); "
                            "the defaults of docs/hits.md §12 if unset")
    group.add_argument("--allowed-lateness", type=_duration, metavar="DURATION",
                       help="dedup.allowed_lateness: how far behind the job's event-time clock a read may be before "
                            "it is late, e.g. '6 h' (default: the --config file's, else "
                            f"{format_duration(defaults.dedup_allowed_lateness_ms)})")
    group.add_argument("--state-retention", type=_duration, metavar="DURATION",
                       help="dedup.state_retention: the longest a de-duplication key is kept after its last hit, "
                            "e.g. '48 h' (default: the --config file's, else "
                            f"{format_duration(defaults.dedup_state_retention_ms)})")


def matching_settings(args: argparse.Namespace) -> MatchingSettings:
    """The list configuration of --config with the options' overrides; `ConfigError`
    (naming the key and the numbers) when the result is refused, `OSError` when the
    file cannot be read."""
    settings = load_settings(args.config) if args.config else MatchingSettings()
    overrides = {}
    if args.allowed_lateness is not None:
        overrides["dedup_allowed_lateness_ms"] = args.allowed_lateness
    if args.state_retention is not None:
        overrides["dedup_state_retention_ms"] = args.state_retention
    # replace() runs MatchingSettings' checks again: a lateness the retention cannot honour is refused.
    return dataclasses.replace(settings, **overrides) if overrides else settings


def add_history_now_argument(group) -> None:
    """--history-now: the fixed clock of the history's retention (history.late_reads), read
    as epoch milliseconds into `args.history_now`."""
    group.add_argument("--history-now", type=_instant_ms, metavar="TIME",
                       help="with --history: the instant the 12-month retention is counted back from, ISO 8601 "
                            "(default: the wall clock as each read is processed). A read whose hour is already "
                            "past it is dead-lettered PAST_RETENTION, not written. Fix it only to replay recorded "
                            "data with fixed dates (a test data set), whose output must not change with the month")


def _instant_ms(text: str) -> int:
    from udfs.instant import BadInstant, parse_instant

    try:
        return parse_instant(text)
    except BadInstant as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None
