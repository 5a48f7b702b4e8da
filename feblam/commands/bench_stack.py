"""`feblam bench e2e`, `feblam bench gateway` and `feblam bench console`: the benchmarks
that run on the local stack (Kafka, the registry, Flink), registered by
`feblam.commands.bench`."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from feblam.bench.e2e import Endpoints, Log
from feblam.commands.bench import _add_network_options, _positive, _print

E2E_HELP = """\
On the running stack (Kafka, the schema registry, the standalone Flink cluster;
`scripts/stack up`), load the simulator's reference lists (--entries in all)
and cameras, then drive the same synthetic reads through FEBLAM's hit-generation
job and through a plain Flink SQL exact-match join of the same lists
(jobs/baseline_sql_join.py), one after the other, each submitted with
--parallelism and cancelled at the end. Takes a few minutes at the defaults.

Prints one JSON object (progress on stderr):
  reads_per_s       sustained throughput on a backlog of --reads reads, between
                    10 % and 90 % of it (start-up and list loading excluded)
  hits_per_s        hits written per second in that window
  p50_ms, p99_ms    read-to-hit latency at --rate reads/s offered for
                    --latency-seconds: a hit's broker append time minus its
                    read's send time (reads that made a hit)
  rss_mb            peak resident memory of the Flink jobmanager and
                    taskmanager process groups (Java and Python) during the run
  rss_mb_by_kind    the same per kind of process: "jobmanager", and
                    "taskmanager" for all taskmanagers together ("embedded"
                    with --embedded)
  cpu_cores_by_kind cores each kind of process used while the backlog was
                    sent and consumed: "taskmanager", "jobmanager", "kafka",
                    "registry", "zookeeper" ("embedded"), "benchmark" (this
                    command), "other", and "machine" (all busy time)
  cpu_cores_by_thread the taskmanagers' cores in the same window by thread
                    name, the kernel's first 15 characters of it, digits as
                    "#": "decode-and-matc" the match step, "detect-clones -"
                    the clone step, "deduplicate (#/" de-duplication,
                    "C# CompilerThre" the JVM's compilers, busiest first
  ready_s           submission to the first output (the lists loaded: from
                    their start-up snapshot and the topics after it, or with
                    --no-snapshot from the topics alone)
  snapshot_s        the time `feblam reference snapshot` took for the lists,
                    once they were on Kafka (not part of ready_s)
  restore_s         after the latency phase, a taskmanager the job runs in is
                    killed (kill -9; the stack starts a new one) and reads are
                    offered at --restore-rate: from the kill to the first
                    output after it (none with --restore-seconds 0 or
                    --embedded)
  reference_entries, parallelism, and baseline_* the same for the SQL join,
  ratio = reads_per_s / baseline_reads_per_s.
Writes the chart (--png): throughput over time and latency distribution.
"""


def _run_e2e(args: argparse.Namespace) -> int:
    from feblam.bench.e2e import E2eSettings, run_e2e
    from feblam.stack.settings import StackSettings

    stack = StackSettings.current()
    endpoints = Endpoints(args.bootstrap_servers or stack.bootstrap_servers,
                          args.registry_url or stack.registry_url,
                          args.flink_rest_url or stack.flink_rest_url, stack.run_dir)
    try:
        settings = E2eSettings(entries=args.entries, reads=args.reads, rate=args.rate,
                               latency_seconds=args.latency_seconds, warmup_reads=args.warmup_reads,
                               parallelism=args.parallelism, vehicles=args.vehicles, cameras=args.cameras,
                               seed=args.seed, engines=tuple(args.engines.split(",")),
                               png=None if str(args.png) in ("", "none") else args.png,
                               timeout_s=args.timeout, keep_topics=args.keep_topics, embedded=args.embedded,
                               restore_seconds=args.restore_seconds, restore_rate=args.restore_rate,
                               job_config=args.job_config, job_args=tuple(shlex.split(args.job_args or "")),
                               snapshot=not args.no_snapshot)
    except ValueError as error:
        print(f"bench e2e: {error}", file=sys.stderr)
        return 2
    from feblam.reach import require_flink, require_kafka, require_registry

    require_kafka(endpoints.bootstrap_servers)
    require_registry(endpoints.registry_url)
    if not args.embedded:
        require_flink(endpoints.flink_rest_url, option="--flink-rest-url")
    result = run_e2e(settings, endpoints, Log(quiet=args.quiet))
    return _print(result, args.json, 24)


def _register_e2e(benches) -> None:
    from feblam.bench.e2e import E2eSettings

    defaults = E2eSettings()
    parser = benches.add_parser(
        "e2e", help="FEBLAM's job against a plain Flink SQL join, end to end on the stack",
        description=E2E_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=_positive, default=defaults.entries, metavar="N",
                        help="reference entries in all lists (default: %(default)s)")
    parser.add_argument("--reads", type=_positive, default=defaults.reads, metavar="M",
                        help="backlog of reads for the throughput figure; at FEBLAM's rate here it lasts about "
                             "20 s (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=defaults.rate, metavar="R",
                        help="offered reads per second for the latency figures (default: %(default)s)")
    parser.add_argument("--latency-seconds", type=float, default=defaults.latency_seconds, metavar="S",
                        help="how long reads are offered at --rate (default: %(default)s)")
    parser.add_argument("--warmup-reads", type=_positive, default=defaults.warmup_reads, metavar="W",
                        help="reads sent until the job's first output, not measured (default: %(default)s)")
    parser.add_argument("--parallelism", type=_positive, default=defaults.parallelism,
                        help="both jobs' parallelism (default: %(default)s)")
    _add_network_options(parser, defaults.vehicles, defaults.cameras, defaults.seed)
    parser.add_argument("--engines", default=",".join(defaults.engines),
                        help="which jobs to run, comma-separated (default: %(default)s)")
    parser.add_argument("--png", type=Path, default=defaults.png,
                        help="where to write the chart (default: %(default)s; 'none' for no chart)")
    parser.add_argument("--restore-seconds", type=float, default=defaults.restore_seconds, metavar="S",
                        help="the longest wait for outputs after the taskmanager is killed; 0: no kill, "
                             "no restore_s (default: %(default)s)")
    parser.add_argument("--restore-rate", type=float, default=defaults.restore_rate, metavar="R",
                        help="reads per second offered after the kill (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=defaults.timeout_s, metavar="S",
                        help="give up on one engine after S seconds (default: %(default)s)")
    parser.add_argument("--keep-topics", action="store_true", help="do not delete the run's topics")
    parser.add_argument("--job-config", type=Path, metavar="YAML",
                        help="FEBLAM's list configuration, passed to its job as --config (e.g. 'clones: "
                             "{enabled: false}' to measure without clone suspicion; default: the spec's)")
    parser.add_argument("--job-args", metavar="ARGS",
                        help="more options for FEBLAM's job, one shell-quoted string (e.g. '--buffer-timeout-ms 10'; "
                             "`python jobs/hit_generation.py --help` lists them); write --job-args=... when the "
                             "string has no space")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="start FEBLAM's job from the topics alone, without a snapshot of the lists "
                             "(`feblam reference snapshot`)")
    parser.add_argument("--embedded", action="store_true",
                        help="run each job on the embedded mini-cluster in a process of its own instead of "
                             "submitting it to the standalone cluster (no Flink REST: a phase ends when the "
                             "outputs stop for 5 s; rss_mb is that process group's)")
    parser.add_argument("--bootstrap-servers", help="Kafka (default: the local stack's)")
    parser.add_argument("--registry-url", help="schema registry (default: the local stack's)")
    parser.add_argument("--flink-rest-url", help="Flink REST (default: the local stack's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of aligned lines")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=_run_e2e)


def _run_gateway(args: argparse.Namespace) -> int:
    from feblam.bench.gateway import GatewayBenchSettings, run_gateway_bench

    try:
        settings = GatewayBenchSettings(rate=args.rate, seconds=args.seconds, sightings=args.sightings,
                                        escalating=args.escalating, acted=args.acted, parallelism=args.parallelism,
                                        seed=args.seed, keep_topics=args.keep_topics, backlog=args.backlog)
    except ValueError as error:
        print(f"bench gateway: {error}", file=sys.stderr)
        return 2
    result = run_gateway_bench(settings, _stack_endpoints(), Log(quiet=args.quiet, name="bench gateway"))
    return _print(result, args.json, 26)


def _register_gateway(benches) -> None:
    from feblam.bench.gateway import GatewayBenchSettings
    from feblam.bench.gateway import __doc__ as doc

    defaults = GatewayBenchSettings()
    parser = benches.add_parser("gateway", help="the Hit Gateway: delivery latency, escalation timing, state",
                                description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="hits per second (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="how long (default: %(default)s)")
    parser.add_argument("--sightings", type=int, default=defaults.sightings, help="sightings per hit (default: %(default)s)")
    parser.add_argument("--escalating", type=float, default=defaults.escalating,
                        help="share of P1 hits nobody acts on (default: %(default)s)")
    parser.add_argument("--acted", type=float, default=defaults.acted,
                        help="share of the other hits rejected a second after delivery (default: %(default)s)")
    parser.add_argument("--parallelism", type=int, default=defaults.parallelism, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="default: %(default)s")
    parser.add_argument("--keep-topics", action="store_true", help="leave the run's topics on Kafka")
    parser.add_argument("--backlog", action="store_true",
                        help="offer every input before the gateway starts and report how fast it works them "
                             "off (its capacity) instead of latency")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of aligned lines")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=_run_gateway)


def _run_console(args: argparse.Namespace) -> int:
    import tempfile

    from feblam.bench.console import ConsoleBenchSettings, run_console_bench

    try:
        settings = ConsoleBenchSettings(open_deliveries=args.open_deliveries, rate=args.rate, seconds=args.seconds,
                                        action_every_s=args.action_every, port=args.port)
    except ValueError as error:
        print(f"bench console: {error}", file=sys.stderr)
        return 2
    endpoints = _stack_endpoints()
    with tempfile.TemporaryDirectory(prefix="feblam-bench-console-") as work:
        result = run_console_bench(settings, endpoints, Path(work), Log(quiet=args.quiet, name="bench console"))
    return _print(result, args.json, 20)


def _register_console(benches) -> None:
    from feblam.bench.console import ConsoleBenchSettings
    from feblam.bench.console import __doc__ as doc

    defaults = ConsoleBenchSettings()
    parser = benches.add_parser("console", help="the dispatch console: a new hit on the page, an action confirmed",
                                description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open-deliveries", type=_positive, default=defaults.open_deliveries,
                        help="deliveries waiting on the board before the load (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="new hits per second (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="how long (default: %(default)s)")
    parser.add_argument("--action-every", type=float, default=defaults.action_every_s, metavar="S",
                        help="seconds between two acknowledgements (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="the console's port (default: a free one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of aligned lines")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=_run_console)


def _stack_endpoints():
    """The local stack's endpoints (the one of FEBLAM_VAR_DIR: its variables move it), checked to answer."""
    from feblam.reach import require_flink, require_kafka, require_registry
    from feblam.stack.settings import StackSettings

    stack = StackSettings.current()
    endpoints = Endpoints(stack.bootstrap_servers, stack.registry_url, stack.flink_rest_url, stack.run_dir)
    require_kafka(endpoints.bootstrap_servers, option="FEBLAM_KAFKA_PORT")
    require_registry(endpoints.registry_url, option="FEBLAM_REGISTRY_PORT")
    require_flink(endpoints.flink_rest_url, option="FEBLAM_FLINK_REST_PORT")
    return endpoints


def register_stack_benches(benches) -> None:
    _register_e2e(benches)
    _register_gateway(benches)
    _register_console(benches)
