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
    from feblam.stack.settings import StackSettings

    parser = subparsers.add_parser("jobs", help="list, stop (with a savepoint) or cancel jobs on the Flink cluster",
                                   description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flink-url", default=StackSettings.current().flink_rest_url,
                        help="Flink REST address (default: the local stack's, %(default)s)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="every job with its state",
                       description="Every job the cluster knows, newest first: id, state, start, name."
                       ).set_defaults(func=cmd_list)
    stop = actions.add_parser("stop", help="take a savepoint and stop the job; prints the savepoint's path",
                              description="Take a savepoint of a RUNNING job, stop it, and print the "
                                          "savepoint's path (resume with `feblam submit --from-savepoint`).")
    stop.add_argument("job_id", help="the job's id (`feblam jobs list`)")
    stop.add_argument("--savepoint-dir",
                      help="where to write it (default: the cluster's execution.checkpointing.savepoint-dir)")
    stop.set_defaults(func=cmd_stop)
    cancel = actions.add_parser("cancel", help="cancel the job without a savepoint",
                                description="Cancel a job that has not ended, without a savepoint: it "
                                            "resumes only from its last retained checkpoint.")
    cancel.add_argument("job_id", help="the job's id (`feblam jobs list`)")
    cancel.set_defaults(func=cmd_cancel)


# States from which a job can still be stopped or cancelled.
ENDED = ("FINISHED", "CANCELED", "FAILED")


def _rest(args):
    from feblam.flinkrest import FlinkRest
    from feblam.reach import require_flink

    require_flink(args.flink_url)
    return FlinkRest(args.flink_url)


def _job(rest, job_id: str) -> dict:
    """The job's overview entry, or a CommandError naming what the cluster holds."""
    from feblam.errors import CommandError

    found = {job["jid"]: job for job in rest.jobs()}
    if job_id not in found:
        raise CommandError(f"no job {job_id} on the cluster at {rest.url} (`feblam jobs list` shows its "
                           f"{len(found)} job(s))")
    return found[job_id]


def cmd_list(args) -> int:
    jobs = sorted(_rest(args).jobs(), key=lambda job: job["start-time"], reverse=True)
    if not jobs:
        print(f"no jobs on the cluster at {args.flink_url}")
    for job in jobs:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job["start-time"] / 1000))
        print(f"{job['jid']}  {job['state']:10}  {started}  {job['name']}")
    return 0


def cmd_stop(args) -> int:
    from feblam.errors import CommandError
    from feblam.flinkrest import FlinkRestError

    rest = _rest(args)
    job = _job(rest, args.job_id)
    if job["state"] != "RUNNING":
        raise CommandError(f"job {args.job_id} ({job['name']}) is {job['state']}: only a RUNNING job can be "
                           f"stopped with a savepoint", exit_code=1)
    print(f"jobs: taking a savepoint of {args.job_id} ({job['name']}) and stopping it ...", file=sys.stderr)
    try:
        location = rest.stop_with_savepoint(args.job_id, args.savepoint_dir)
    except FlinkRestError as error:
        raise CommandError(str(error).splitlines()[0][:300], exit_code=1) from None
    print(f"jobs: stopped {args.job_id}; its savepoint:", file=sys.stderr)
    print(location)
    return 0


def cmd_cancel(args) -> int:
    from feblam.errors import CommandError
    from feblam.flinkrest import FlinkRestError

    rest = _rest(args)
    job = _job(rest, args.job_id)
    if job["state"] in ENDED:
        raise CommandError(f"job {args.job_id} ({job['name']}) has already ended: {job['state']}", exit_code=1)
    try:
        rest.cancel(args.job_id)
        state = rest.wait_until_terminal(args.job_id, 60.0)
    except FlinkRestError as error:
        raise CommandError(str(error).splitlines()[0][:300], exit_code=1) from None
    print(f"jobs: cancelled {args.job_id} ({job['name']}): {state}")
    return 0
