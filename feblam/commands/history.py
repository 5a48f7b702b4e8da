"""`feblam history`: the analysts' questions over the Parquet history, behind the access gate.

Every question states who asks and why; the gate grants, narrows or refuses its
time range; the access is written to the access log before any row is shown
(docs/history.md). The logic is in the pure package `history/`; this module is
options and output only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from feblam.errors import CommandError

DESCRIPTION = """\
Ask the Parquet history what analysts ask of ANPR history, within the law:
every question names the user, the unit, the purpose (ADMINISTRATIVE or
JUDICIAL) and a justification, and JUDICIAL questions about data older than
30 days name the prosecutor's authorisation. The time range is narrowed to
what the access may see, and said so, or refused with the rule; covert hits
are shown to their owner unit only. Every question, refused or not, is
written to the access log before its answer (`feblam history audit`).
"""

EPILOG = """\
examples:
  feblam history journey 1-ABC-123 --history var/demo/history --user a.peeters --unit ZP-5339 \\
      --purpose ADMINISTRATIVE --justification "LEZ appeal 2026/1187, checking passages"
  feblam history camera CAM-0042 --from 2026-12-05T02:10Z --to 2026-12-05T02:40Z ...
  feblam history hits --by list,day ... --json
  feblam history audit verify --user dpo.maes --unit DPO --justification "monthly check of the access log"

FEBLAM_HISTORY, FEBLAM_ACCESS_LOG and FEBLAM_CAMERAS set --history, --access-log and --cameras.
"""

DURATION = re.compile(r"^(\d+)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def register(subparsers) -> None:
    parser = subparsers.add_parser("history", help="query the read and hit history, through the access gate",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="history_command", metavar="QUESTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    def question(name: str, help_text: str, ranged: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                                  epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        _access_options(sub)
        if ranged:
            sub.add_argument("--from", dest="start", type=instant, metavar="TIME",
                             help="from this event time (ISO 8601; no zone: UTC; default: as far back as "
                                  "the access may see)")
            sub.add_argument("--to", dest="end", type=instant, metavar="TIME",
                             help="until this event time, exclusive (default: now)")
        output = sub.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true", help="one JSON object: the decision, the columns, the rows")
        output.add_argument("--csv", action="store_true", help="CSV with a header line; the decision on stderr")
        return sub

    journey = question("journey", "all reads of a plate in time order, with camera and any hits")
    journey.add_argument("plate", help="the plate as written or canonical (1-abc-123 is 1ABC123)")
    journey.set_defaults(func=cmd_journey)
    camera = question("camera", "all reads at a camera between two times, with any hits")
    camera.add_argument("camera_id", help="the camera, as the reads name it")
    camera.set_defaults(func=cmd_camera)
    first = question("first-seen", "when and where a plate was first seen, within what the access may see")
    first.add_argument("plate", help="the plate as written or canonical")
    first.set_defaults(func=cmd_first_seen)
    convoy = question("convoy", "vehicles that travel with a plate: seen within ±WINDOW of it at K or more of "
                      "its cameras, ranked by passages together beyond chance")
    convoy.add_argument("plate", help="the plate whose companions are sought")
    convoy.add_argument("--min-cameras", "-k", type=int, default=3, metavar="K",
                        help="at least this many of the plate's cameras (default: %(default)s)")
    convoy.add_argument("--window", type=duration, default=timedelta(minutes=5), metavar="DURATION",
                        help="± this much of each of its passages (default: 5m)")
    convoy.add_argument("--limit", type=int, default=20, help="at most this many vehicles (default: %(default)s)")
    convoy.set_defaults(func=cmd_convoy)
    cameras = question("cameras", "cameras that went silent: read in the range, but not in the last DURATION of it")
    cameras.add_argument("--silent-for", type=duration, required=True, metavar="DURATION",
                         help="e.g. 2h, 30m, 1d")
    cameras.set_defaults(func=cmd_cameras)
    hits = question("hits", "hit counts grouped by list, day, priority, match_kind or zone")
    hits.add_argument("--by", default="list,day", help="comma-separated groups (default: %(default)s)")
    hits.set_defaults(func=cmd_hits)

    from feblam.commands import history_admin, history_retro

    history_admin.register(commands)
    history_retro.register(commands)


def _access_options(parser: argparse.ArgumentParser) -> None:
    from history.gate import PURPOSES

    history_option(parser)
    parser.add_argument("--access-log", type=Path, default=default_log(), metavar="FILE",
                        help="the access log, kept apart from the history (default: FEBLAM_ACCESS_LOG, else "
                             "%(default)s)")
    env_cameras = os.environ.get("FEBLAM_CAMERAS")
    parser.add_argument("--cameras", type=Path, default=Path(env_cameras) if env_cameras else None, metavar="FILE",
                        help="the camera registry as JSON Lines (as `feblam run --cameras` reads it), to name each "
                             "read's police zone and province (default: FEBLAM_CAMERAS)")
    who = parser.add_argument_group("who asks and why (all recorded in the access log)")
    who.add_argument("--user", required=True, help="the person asking")
    who.add_argument("--unit", required=True, help="their unit (covert hits are shown to their owner unit only)")
    who.add_argument("--purpose", required=True, type=str.upper, choices=PURPOSES,
                     help="ADMINISTRATIVE: the last 30 days only; JUDICIAL: older data with --authorisation")
    who.add_argument("--justification", required=True, help="why, in your own words (10 characters or more)")
    who.add_argument("--authorisation", metavar="REFERENCE",
                     help="JUDICIAL: the reference of the prosecutor's written decision, for data older than 30 days")


def history_option(parser: argparse.ArgumentParser) -> None:
    env_history = os.environ.get("FEBLAM_HISTORY")
    parser.add_argument("--history", type=Path, default=Path(env_history) if env_history else None,
                        required=not env_history, metavar="DIR",
                        help="root of the Parquet history (default: FEBLAM_HISTORY)")


def default_log() -> Path:
    given = os.environ.get("FEBLAM_ACCESS_LOG")
    if given:
        return Path(given)
    from feblam.stack.settings import StackSettings

    return StackSettings.current().var_dir / "access" / "access.log"


def instant(text: str) -> datetime:
    """An ISO 8601 time or date; without a zone, UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time (e.g. 2026-12-05T02:10Z)") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def duration(text: str) -> timedelta:
    match = DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 2h, 30m, 1d")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


# -- the questions -------------------------------------------------------------------------

def open_history(args):
    from history.accesslog import AccessLog
    from history.queries import GatedHistory

    if not args.history.is_dir():
        raise CommandError(f"--history: no such directory {args.history}")
    log_path = args.access_log.resolve()
    if log_path.is_relative_to(args.history.resolve()):
        raise CommandError(f"--access-log {args.access_log} is inside the history: keep the log apart from the "
                           "data it records, so that no purge or copy of the data takes it along")
    cameras = getattr(args, "cameras", None)
    if cameras is not None and not cameras.is_file():
        raise CommandError(f"--cameras: no such file {cameras}")
    return GatedHistory(args.history, AccessLog(args.access_log), cameras=cameras)


def _request(args):
    from history.gate import AccessRequest

    return AccessRequest(args.user, args.unit, args.purpose, args.justification, args.authorisation)


def _range(args):
    from history.gate import TimeRange

    try:
        return TimeRange(args.start, args.end)
    except ValueError as error:
        raise CommandError(f"--from/--to: {error}") from None


def _ask(args, ask) -> int:
    from history.accesslog import AccessLogError
    from history.gate import AccessError

    try:
        answer = ask(open_history(args), _request(args), _range(args))
    except AccessError as refused:
        raise CommandError(f"{refused} (recorded in the access log)", exit_code=3) from None
    except AccessLogError as error:
        raise CommandError(f"{error}: nothing was read") from None
    _print(args, answer)
    return 0


def cmd_journey(args) -> int:
    return _ask(args, lambda history, request, asked: history.journey(request, args.plate, asked))


def cmd_camera(args) -> int:
    return _ask(args, lambda history, request, asked: history.camera(request, args.camera_id, asked))


def cmd_first_seen(args) -> int:
    return _ask(args, lambda history, request, asked: history.first_seen(request, args.plate, asked))


def cmd_convoy(args) -> int:
    try:
        return _ask(args, lambda history, request, asked: history.convoy(
            request, args.plate, asked, args.min_cameras, args.window, args.limit))
    except ValueError as error:
        raise CommandError(f"convoy: {error}") from None


def cmd_cameras(args) -> int:
    return _ask(args, lambda history, request, asked: history.silent_cameras(request, args.silent_for, asked))


def cmd_hits(args) -> int:
    groups = [name.strip() for name in args.by.split(",") if name.strip()]
    try:
        return _ask(args, lambda history, request, asked: history.hits_by(request, groups, asked))
    except ValueError as error:
        raise CommandError(f"--by: {error}") from None


# -- output --------------------------------------------------------------------------------

def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _print(args, answer) -> None:
    note = f"access {answer.access_id}: {answer.decision.statement}"
    if args.json:
        print(json.dumps({"access_id": answer.access_id, "outcome": answer.decision.outcome,
                          "statement": answer.decision.statement, "columns": list(answer.columns),
                          "rows": [[_json(v) for v in row] for row in answer.rows]}, ensure_ascii=False))
        return
    if args.csv:
        print(note, file=sys.stderr)
        writer = csv.writer(sys.stdout)
        writer.writerow(answer.columns)
        writer.writerows([[_cell(v) for v in row] for row in answer.rows])
        return
    print(note)
    cells = [[_cell(v) for v in row] for row in answer.rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(answer.columns)]
    print("  ".join(c.ljust(w) for c, w in zip(answer.columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    print(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")


def _json(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z") if value.tzinfo is None \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
