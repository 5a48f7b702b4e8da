"""`feblam history` purge, compact and audit: the history's upkeep and the access log.

Split from `feblam.commands.history` (the questions), whose options and checks it
shares; the logic is in the pure package `history/`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from feblam.commands.history import default_log, duration, history_option, open_history
from feblam.errors import CommandError


def _log_and_who(parser, who: str) -> None:
    parser.add_argument("--access-log", type=Path, default=default_log(), metavar="FILE",
                        help="the access log (default: FEBLAM_ACCESS_LOG, else %(default)s)")
    parser.add_argument("--user", required=True, help=who)
    parser.add_argument("--unit", required=True, help="their unit")
    parser.add_argument("--justification", required=True, help="why, in your own words (10 characters or more)")


def register(commands) -> None:
    purge = commands.add_parser(
        "purge", help="remove the partitions past the 12-month retention (--dry-run: only show them)",
        description="Remove every hour partition of the history whose whole hour is older than the retention "
        "limit (12 calendar months before now); a partition that straddles the limit is kept until all of it "
        "is past. The purge, with each partition and its rows, is recorded in the access log first, with who "
        "ordered it and why. The access log itself is never purged.")
    history_option(purge)
    _log_and_who(purge, "who orders the purge")
    purge.add_argument("--dry-run", action="store_true", help="find and count, remove nothing (recorded too)")
    purge.add_argument("--json", action="store_true", help="one JSON object")
    purge.set_defaults(func=cmd_purge)

    compact = commands.add_parser(
        "compact", help="rewrite each day's hourly files, once the day is --lag behind, into one file sorted for "
        "look-ups",
        description="Compact the history for fast look-ups (docs/history.md, \"Layout\"): each day that ended "
        "at least --lag ago is rewritten from its hourly files into one file sorted by 4-hour block and plate, "
        "with row groups that DuckDB's statistics skip; late reads are taken in by the next run. Questions read compacted and "
        "hourly files together and see every row once, during a compaction too. What a compaction replaced is "
        "removed --grace later. Run it hourly (a cron entry or a systemd timer). It shows no data to anyone and "
        "writes nothing to the access log.")
    history_option(compact)
    compact.add_argument("--lag", type=duration, default=timedelta(hours=2), metavar="DURATION",
                         help="compact a day once it ended this long ago (default: 2h): later reads are rare")
    compact.add_argument("--grace", type=duration, default=timedelta(minutes=30), metavar="DURATION",
                         help="remove replaced files this long after (default: 30m): longer than any question runs")
    compact.add_argument("--json", action="store_true", help="one JSON object")
    compact.set_defaults(func=cmd_compact)

    audit = commands.add_parser("audit", help="show or verify the access log (itself an access, logged)",
                                description="Show the access log's records, or verify its hash chain: a "
                                "changed, removed or reordered record is named. Reading the log is itself "
                                "an access and is logged.")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    audit.set_defaults(func=lambda args: (audit.print_help(), 2)[1])
    show = audit_commands.add_parser("show", help="print the log's records, oldest first")
    verify = audit_commands.add_parser("verify", help="check the hash chain; exit 1 if anything is wrong")
    for sub in (show, verify):
        _log_and_who(sub, "who reads the log")
        sub.add_argument("--json", action="store_true", help="JSON instead of lines")
    show.add_argument("--last", type=int, metavar="N", help="only the last N records")
    show.set_defaults(func=cmd_audit_show)
    verify.add_argument("--expect-head", metavar="SHA256",
                        help="the head noted at an earlier verification: finds records cut from the end")
    verify.set_defaults(func=cmd_audit_verify)


# -- the access log ------------------------------------------------------------------------

def _read_log(args, action: str):
    from history.accesslog import ACCESS, AccessLog, AccessLogError
    from history.gate import identity_problem, iso

    problem = identity_problem(args.user, args.unit, args.justification)
    log = AccessLog(args.access_log)
    fields = {"at": iso(datetime.now(timezone.utc)), "user": args.user, "unit": args.unit, "purpose": "AUDIT",
              "justification": args.justification, "query": {"question": f"audit {action}"},
              "outcome": "REFUSED" if problem else "GRANTED", "statement": f"refused: {problem}" if problem else
              "reading the access log"}
    try:
        log.append(ACCESS, fields)
    except AccessLogError as error:
        raise CommandError(str(error)) from None
    if problem:
        raise CommandError(f"refused: {problem} (recorded in the access log)", exit_code=3)
    return log


def cmd_audit_show(args) -> int:
    records = list(_read_log(args, "show").records())
    if args.last is not None:
        records = records[-args.last:] if args.last > 0 else []
    for record in records:
        if args.json:
            print(json.dumps(record, ensure_ascii=False))
            continue
        if record.get("kind") == "ACCESS":
            print(f"{record['seq']:>6}  {record.get('at', '')}  ACCESS  {record.get('user')} ({record.get('unit')}) "
                  f"{record.get('purpose')} {json.dumps(record.get('query'), ensure_ascii=False)}: "
                  f"{record.get('statement')}; justification: {record.get('justification')!r}"
                  + (f"; authorisation {record['authorisation']}" if record.get("authorisation") else ""))
        else:
            rows = record.get("rows")
            outcome = f"{rows} row{'' if rows == 1 else 's'}" if rows is not None else f"failed: {record.get('error')}"
            print(f"{record['seq']:>6}  {record.get('at', '')}  RESULT  of access {record.get('access')}: {outcome}")
    return 0


def cmd_audit_verify(args) -> int:
    verification = _read_log(args, "verify").verify(args.expect_head)
    if args.json:
        print(json.dumps({"ok": verification.ok, "records": verification.records, "head": verification.head,
                          "problems": [str(p) for p in verification.problems]}))
    else:
        for problem in verification.problems:
            print(problem)
        state = "intact" if verification.ok else f"{len(verification.problems)} problem(s)"
        print(f"{verification.records} records, {state}; head {verification.head} (note it to check later "
              "with --expect-head)")
    return 0 if verification.ok else 1


def cmd_purge(args) -> int:
    from history.accesslog import AccessLog, AccessLogError
    from history.gate import identity_problem, iso
    from history.retention import purge

    problem = identity_problem(args.user, args.unit, args.justification)
    if problem:
        raise CommandError(f"refused: {problem}")
    history = open_history(args)   # checks the folder and that the log lives apart from it
    try:
        report = purge(history.root, AccessLog(args.access_log), args.user, args.unit, args.justification,
                       datetime.now(timezone.utc), dry_run=args.dry_run)
    except AccessLogError as error:
        raise CommandError(f"{error}: nothing was removed") from None
    if args.json:
        print(json.dumps({"dry_run": report.dry_run, "limit": iso(report.limit), "record": report.log_seq,
                          "rows": report.rows, "partitions": [p.describe() for p in report.partitions]}))
        return 0
    verb = "would remove" if report.dry_run else "removed"
    for partition in report.partitions:
        described = partition.describe()
        where = (f"compacted/{described['table']}/date={described['date']}" if partition.compacted
                 else f"{described['table']}/date={described['date']}/hour={described['hour']}")
        print(f"{verb} {where}: {described['rows']} rows")
    print(f"{verb} {len(report.partitions)} partition(s), {report.rows} rows older than {iso(report.limit)} "
          f"(access log record {report.log_seq})")
    return 0


def cmd_compact(args) -> int:
    import time

    from history.layout import compact

    if not args.history.is_dir():
        raise CommandError(f"--history: no such directory {args.history}")
    began = time.monotonic()
    done = compact(args.history, datetime.now(timezone.utc), args.lag, args.grace)
    seconds = time.monotonic() - began
    rows = sum(day.rows for day in done)
    if args.json:
        print(json.dumps({"days": [{"table": d.table, "date": d.day.isoformat(), "version": d.version,
                                    "rows": d.rows, "hourly_files_taken_in": d.taken_in} for d in done],
                          "rows": rows, "seconds": round(seconds, 1)}))
        return 0
    for day in done:
        print(f"{day.table} {day.day}: version {day.version}, {day.rows:,} rows ({day.taken_in} hourly files taken in)")
    print(f"compacted {len(done)} day(s), {rows:,} rows, in {seconds:.1f} s" if done else "nothing to compact")
    return 0
