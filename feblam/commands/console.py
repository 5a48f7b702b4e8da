"""`feblam console`: the dispatch console (docs/console.md).

    feblam console serve --accounts FILE [--port 8400]     the web application, until Ctrl-C
    feblam console hash-password [--user NAME]              a password's stored form, for the accounts file
    feblam console check --accounts FILE                    check an accounts file against the routing in force
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from feblam.commands import add_kafka_endpoints
from feblam.errors import CommandError

SERVE_EPILOG = """\
The console reads the routing configuration in force (its destinations, users,
reasons and outcomes) and the accounts file, and refuses to start when an account
names a destination that does not exist or that does not list the user. It then
reads every destination's topic from its start: a restarted console shows the
same boards. Stop it with Ctrl-C.

The accounts file (YAML):
  users:
    lie.dispatcher:
      password: "scrypt$16384$8$1$..."     # feblam console hash-password
      destinations: [cic-lie]
      role: dispatcher                     # or observer: sees, does not act

Sessions end after --idle minutes without a request and after --max-age hours
whatever happens. After --max-failures wrong passwords for one user or from one
address, logins from there are refused for --lockout minutes.
"""


def register(subparsers) -> None:
    from console.server import ConsoleSettings
    from feblam.stack.settings import StackSettings

    stack = StackSettings.current()
    defaults = ConsoleSettings("", "", Path())
    parser = subparsers.add_parser("console", help="the dispatch console: a live page for dispatch centres",
                                   description="The dispatch console (docs/console.md).")
    parser.set_defaults(kafka_component="gateway")   # it reads and writes the gateway's topics
    commands = parser.add_subparsers(dest="console_command", metavar="SUBCOMMAND")

    serve = commands.add_parser("serve", help="serve the console until Ctrl-C", epilog=SERVE_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Serve the dispatch console over the gateway's topics.")
    add_kafka_endpoints(serve, stack)
    _accounts_option(serve)
    serve.add_argument("--host", default=defaults.host, help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=defaults.port, help="port (default: %(default)s)")
    serve.add_argument("--config-topic", default=defaults.config_topic,
                       help="the gateway's configuration topic (default: %(default)s)")
    serve.add_argument("--lifecycle-events-topic", default=defaults.lifecycle_events_topic,
                       help="where actions go (default: %(default)s)")
    serve.add_argument("--refused-events-topic", default=defaults.refused_events_topic,
                       help="where the gateway says why it refused one (default: %(default)s)")
    serve.add_argument("--cameras-topic", default=defaults.cameras_topic,
                       help="the camera registry, for positions (default: %(default)s)")
    serve.add_argument("--idle", type=float, default=defaults.idle_s / 60, metavar="MIN",
                       help="a session ends after this many minutes without a request (default: %(default)g)")
    serve.add_argument("--max-age", type=float, default=defaults.max_age_s / 3600, metavar="H",
                       help="and this many hours after its login (default: %(default)g)")
    serve.add_argument("--max-failures", type=int, default=defaults.max_failures,
                       help="wrong passwords before a lockout (default: %(default)s)")
    serve.add_argument("--lockout", type=float, default=defaults.lockout_s / 60, metavar="MIN",
                       help="how long a lockout lasts (default: %(default)g)")
    serve.set_defaults(func=_serve)

    hashing = commands.add_parser("hash-password", help="print a password's stored form for the accounts file",
                                  description="Ask for a password twice (or read one line from stdin when it "
                                  "is not a terminal) and print its scrypt hash.")
    hashing.add_argument("--user", help="print a whole accounts-file entry for this user")
    hashing.add_argument("--destination", action="append", default=[],
                         help="with --user: a destination (repeat; default: none, a placeholder is printed)")
    hashing.set_defaults(func=_hash_password)

    check = commands.add_parser("check", help="check an accounts file against the routing configuration in force",
                                description="Load the accounts file as `serve` would, and say what it refuses.")
    add_kafka_endpoints(check, stack)
    _accounts_option(check)
    check.add_argument("--config-topic", default=defaults.config_topic,
                       help="the gateway's configuration topic (default: %(default)s)")
    check.set_defaults(func=_check)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _accounts_option(parser) -> None:
    parser.add_argument("--accounts", type=Path, required=True, help="the accounts file (YAML; see the epilog)")


def _settings(args):
    from console.server import ConsoleSettings

    return ConsoleSettings(
        args.bootstrap_servers, args.registry_url, args.accounts, host=args.host, port=args.port,
        config_topic=args.config_topic, lifecycle_events_topic=args.lifecycle_events_topic,
        refused_events_topic=args.refused_events_topic, cameras_topic=args.cameras_topic, idle_s=args.idle * 60,
        max_age_s=args.max_age * 3600, max_failures=args.max_failures, lockout_s=args.lockout * 60)


def _serve(args) -> int:
    from console.server import ConsoleError, serve

    try:
        serve(_settings(args), say=lambda line: print(line, file=sys.stderr, flush=True))
    except ConsoleError as error:
        raise CommandError(str(error)) from None
    except KeyboardInterrupt:
        return 0
    return 0


def _check(args) -> int:
    from connectors.registry import RegistryClient
    from console.server import ConsoleError, config_in_force, load_accounts

    try:
        config = config_in_force(args.bootstrap_servers, RegistryClient(args.registry_url), args.config_topic)
        accounts = load_accounts(args.accounts, config)
    except ConsoleError as error:
        print(f"refused: {error}")
        return 1
    print(f"{args.accounts}: {len(accounts.by_name)} accounts, all acting for destinations of configuration "
          f"{config.version}")
    return 0


def _hash_password(args) -> int:
    from console.accounts import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            raise CommandError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise CommandError("a password needs at least 8 characters")
    hashed = hash_password(password)
    if args.user:
        destinations = ", ".join(args.destination) or "DESTINATION"
        print(f"  {args.user}:\n    password: \"{hashed}\"\n    destinations: [{destinations}]\n    role: dispatcher")
    else:
        print(hashed)
    return 0
