"""The console as a process: its settings, what it reads at start, and its server.

At start the console reads the routing configuration in force (the gateway's
compacted configuration topic): the destinations, their display names and users,
the reasons and outcomes. It checks the accounts file against it and refuses to
start when an account names a destination that does not exist or whose users do
not include it (its every action would be refused). Then it reads the
destinations' topics from their start (`connectors.console_feed`), serves
(uvicorn), and follows the topics until it is stopped. A new routing
configuration is taken at the console's next start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from console.accounts import Accounts, AccountsError, LoginThrottle
from console.app import ConsoleState, create_app
from console.hub import Hub
from console.sessions import Sessions

LOG = logging.getLogger("feblam.console")


class ConsoleError(RuntimeError):
    """The console cannot start: no routing configuration in force, or accounts refused."""


@dataclass(frozen=True)
class ConsoleSettings:
    bootstrap_servers: str
    registry_url: str
    accounts: Path
    host: str = "127.0.0.1"
    port: int = 8400
    config_topic: str = "gw.config"
    lifecycle_events_topic: str = "gw.lifecycle-events"
    refused_events_topic: str = "gw.refused-events"
    cameras_topic: str = "cameras"
    idle_s: float = 900.0              # a session ends after 15 minutes without a request
    max_age_s: float = 12 * 3600.0     # and 12 hours after its login (a shift), whatever happens
    confirm_timeout_s: float = 5.0     # how long an action waits for the gateway's answer
    max_failures: int = 5              # wrong passwords for one user ...
    client_max_failures: int = 50      # ... or from one address (a dispatch room behind one proxy) ...
    lockout_s: float = 900.0           # ... before logins are refused for this long


@dataclass
class Console:
    """A console ready to serve: its ASGI app and the feed to stop."""

    app: object
    state: ConsoleState
    feed: object
    sender: object

    def stop(self) -> None:
        self.feed.stop()
        self.sender.close()


def check_accounts(accounts: Accounts, config) -> None:
    """Every account's destinations list it among their users (gateway.config)."""
    for account in accounts.by_name.values():
        strangers = sorted(d for d in account.destinations if not config.acts_for(account.name, d))
        if strangers:
            raise AccountsError(f"user {account.name!r} is not among the users of {', '.join(strangers)} in the "
                                f"routing configuration in force ({config.version}): the gateway would refuse "
                                f"every action of theirs; add them there or change the accounts file")


def config_in_force(bootstrap_servers: str, registry, config_topic: str):
    """The routing configuration in force (gateway.config.GatewayConfig); ConsoleError if none."""
    from connectors.gateway_admin import current_config
    from gateway.config import ConfigError, parse_config

    in_force = current_config(bootstrap_servers, registry, config_topic)
    if in_force is None:
        raise ConsoleError(f"no routing configuration on {config_topic}: apply one first "
                           f"(feblam gateway config apply FILE)")
    try:
        return parse_config(in_force["text"], f"{config_topic} version {in_force['version']}")
    except ConfigError as error:
        raise ConsoleError(f"the routing configuration in force does not parse: {error}") from None


def load_accounts(path: Path, config) -> Accounts:
    """The accounts file, checked against the configuration; ConsoleError says what is wrong."""
    try:
        accounts = Accounts.from_yaml(path.read_text(encoding="utf-8"), str(path), config.destinations)
        check_accounts(accounts, config)
    except OSError as error:
        raise ConsoleError(f"cannot read the accounts file {path}: {error.strerror}") from None
    except AccountsError as error:
        raise ConsoleError(str(error)) from None
    return accounts


def build(settings: ConsoleSettings) -> Console:
    """Read the configuration in force and the accounts, start the feed; raises ConsoleError."""
    from connectors.console_feed import FeedTopics, GatewayFeed
    from connectors.gateway_admin import EventSender
    from connectors.registry import RegistryClient
    from gateway.config import destination_topic

    registry = RegistryClient(settings.registry_url)
    config = config_in_force(settings.bootstrap_servers, registry, settings.config_topic)
    accounts = load_accounts(settings.accounts, config)
    hub = Hub(config.destinations)
    feed = GatewayFeed(settings.bootstrap_servers, registry, FeedTopics(
        tuple(destination_topic(d) for d in config.destinations), settings.refused_events_topic,
        settings.cameras_topic), hub)
    sender = EventSender(settings.bootstrap_servers, registry, settings.lifecycle_events_topic)
    state = ConsoleState(
        hub=hub, accounts=accounts, sessions=Sessions(settings.idle_s, settings.max_age_s),
        throttle=LoginThrottle(settings.max_failures, settings.lockout_s, settings.lockout_s,
                               client_max_failures=settings.client_max_failures), send=sender.send,
        display_names={name: d.display_name for name, d in config.destinations.items()},
        reasons=config.reasons, outcomes=config.outcomes, note_required_for=tuple(sorted(config.note_required_for)),
        confirm_timeout_s=settings.confirm_timeout_s, feed_alive=lambda: feed.is_alive() and feed.error is None)
    feed.start()
    return Console(create_app(state), state, feed, sender)


def serve(settings: ConsoleSettings, say=print) -> None:
    """Build and serve until interrupted."""
    import uvicorn

    console = build(settings)
    say(f"console: http://{settings.host}:{settings.port}/ ({len(console.state.accounts.by_name)} accounts); "
        f"reading the gateway's topics")
    try:
        # uvicorn's access log would print each path; the app logs route patterns instead.
        uvicorn.run(console.app, host=settings.host, port=settings.port, access_log=False, log_level="warning")
    finally:
        console.stop()
