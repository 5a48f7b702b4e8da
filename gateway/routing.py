"""Which destinations a hit goes to (spec §3): the routing tree, then the covert rule.

``choose(config, labels)`` returns one ``RouteChoice`` per distinct destination,
in the order the walk reached them. ``explain(config, labels)`` says, route by
route, why, for ``feblam gateway routes test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from gateway.config import GatewayConfig, Route

COVERT_ROUTE = "covert"


@dataclass(frozen=True)
class RouteChoice:
    """A destination the hit goes to, the route that chose it and its escalation settings."""

    destination: str
    route: str
    ack_timeout_ms: int | None
    escalate_to: str | None


def walk(route: Route, labels: Mapping[str, str]) -> list[Route]:
    """The routes that deliver ``labels``, depth first, as Alertmanager walks its tree.

    At each level the first child whose matchers all hold takes the hit, and
    the walk of that level stops unless the child has ``continue``; a route
    none of whose children takes the hit delivers it itself.
    """
    if not route.matches(labels):
        return []
    found: list[Route] = []
    for child in route.routes:
        taken = walk(child, labels)
        found.extend(taken)
        if taken and not child.continue_:
            break
    return found or [route]


def is_covert(labels: Mapping[str, str]) -> bool:
    return labels.get("covert") == "true"


def choose(config: GatewayConfig, labels: Mapping[str, str]) -> list[RouteChoice]:
    """The deliveries of a hit with ``labels``: one per distinct destination.

    A covert hit goes to its owner alone, whatever the tree says, and never
    escalates (an escalation would show it to another destination); with no
    owner, or an owner that is not a destination, it goes nowhere.
    """
    priority = labels.get("priority", "")
    if is_covert(labels):
        owner = labels.get("owner")
        if owner not in config.destinations:
            return []
        return [RouteChoice(owner, COVERT_ROUTE, None, None)]
    seen: dict[str, RouteChoice] = {}
    for route in walk(config.route, labels):
        if route.destination not in seen:
            seen[route.destination] = RouteChoice(route.destination, route.path,
                                                  route.ack_timeout_for(priority), route.escalate_to)
    return list(seen.values())


def explain(config: GatewayConfig, labels: Mapping[str, str]) -> list[str]:
    """Lines that retrace the walk: each route tried, which matcher failed, who receives."""
    lines = [f"labels: {', '.join(f'{k}={v}' for k, v in sorted(labels.items()))}"]
    if is_covert(labels):
        owner = labels.get("owner")
        if owner in config.destinations:
            lines.append(f"covert: goes to its owner {owner} alone; the tree is not walked")
        else:
            lines.append(f"covert with no known owner ({owner or 'none'}): no destination, audit only")
        return lines

    def trace(route: Route, depth: int) -> bool:
        pad = "  " * depth
        failed = next((m for m in route.matchers if not m.holds(labels)), None)
        if failed is not None:
            lines.append(f"{pad}{route.path} (line {route.line}): no, {failed} does not hold "
                         f"({failed.label}={labels.get(failed.label, '')!r})")
            return False
        matched = " and ".join(map(str, route.matchers)) or "matches every hit"
        lines.append(f"{pad}{route.path} (line {route.line}): yes, {matched}")
        taken = False
        for child in route.routes:
            if trace(child, depth + 1):
                taken = True
                if not child.continue_:
                    lines.append(f"{pad}  {child.path} takes it and does not continue")
                    break
                lines.append(f"{pad}  {child.path} takes it and continues")
        if not taken:
            lines.append(f"{pad}{route.path} delivers to {route.destination}")
        return True

    trace(config.route, 0)
    for choice in choose(config, labels):
        timeout = "never" if choice.ack_timeout_ms is None else f"{choice.ack_timeout_ms / 1000:g} s"
        lines.append(f"-> {choice.destination} by {choice.route}: escalates after {timeout}"
                     + (f" to {choice.escalate_to}" if choice.ack_timeout_ms is not None and choice.escalate_to else ""))
    return lines
