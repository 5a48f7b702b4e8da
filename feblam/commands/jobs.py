"""`feblam jobs list|stop|cancel`: the jobs on the Flink cluster, and upgrades by savepoint."""

from __future__ import annotations

import argparse
import sys
import time

HELP = """\
Inspect and stop jobs on the Flink cluster (the local stack's, or --flink-url).

An upgrade keeps every hit and the de-duplication state:
  feblam jobs stop JOB_ID                 # savepoint, then stop; prints the savepoint path
  feblam submit --from-savepoint PATH jobs/hit_generation.py -- [the same options]
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("jobs", help="list, stop (with a savepoint) or cancel jobs on the Flink cluster",
                                   description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flink-url", help="Flink REST address (default: the local stack's)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="every job with its state").set_defaults(func=cmd_list)
    stop = actions.add_parser("stop", help="take a savepoint and stop the job; prints the savepoint's path")
    stop.add_argument("job_id")
    stop.add_argument("--savepoint-dir", help="where to write it (default: the cluster's execution.checkpointing.savepoint-dir)")
    stop.set_defaults(func=cmd_stop)
    cancel = actions.add_parser("cancel", help="cancel the job without a savepoint")
    cancel.add_argument("job_id")
    cancel.set_defaults(func=cmd_cancel)


def _rest(args):
    from feblam.flinkrest import FlinkRest
    from feblam.stack.settings import StackSettings

    return FlinkRest(args.flink_url or StackSettings.current().flink_rest_url)


def cmd_list(args) -> int:
    for job in _rest(args).jobs():
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job["start-time"] / 1000))
        print(f"{job['jid']}  {job['state']:10}  {started}  {job['name']}")
    return 0


def cmd_stop(args) -> int:
    from feblam.flinkrest import FlinkRestError

    try:
        location = _rest(args).stop_with_savepoint(args.job_id, args.savepoint_dir)
    except FlinkRestError as error:
        print(f"jobs: {error}", file=sys.stderr)
        return 1
    print(location)
    return 0


def cmd_cancel(args) -> int:
    from feblam.flinkrest import FlinkRestError

    try:
        _rest(args).cancel(args.job_id)
    except FlinkRestError as error:
        print(f"jobs: {error}", file=sys.stderr)
        return 1
    return 0
