"""The gateway's configuration: destinations and the routing tree (spec §3), as typed settings.

``parse_config(text, source)`` reads the YAML document and returns a
``GatewayConfig``, or raises ``ConfigError`` listing every problem with its line:
an unknown key, an unknown destination, a bad regex, a bad duration, a root
route that does not match every hit. Nothing is discovered while hits flow.

Shape (``flink-conf/gateway.yaml`` is the sample)::

    national: cic-national            # required; the default escalate_to
    destinations:
      cic-ant:
        display_name: CIC Antwerpen
        users: [ant.dispatch1, ant.dispatch2]
        escalate_to: cic-national     # where an escalated delivery of this destination goes next
        webhook:                      # optional
          url: https://partner.example/hits
          tries: 5                    # spec §4 (config)
          backoff: 500 ms             # doubling after each try
          timeout: 2 s                # one POST
    list_owners: {stolen_vehicles: cic-national}   # the owner label when the entry names none
    route:                            # the root: no matchers, matches every hit
      destination: cic-national
      ack_timeout: {P1: 60 s, P2: 300 s}           # per priority; inherited
      routes:
        - matchers: ['province = "Antwerpen"', 'priority =~ "P[12]"']
          destination: cic-ant
          continue: true
          escalate_to: cic-national                # inherited; default: national
    reasons: [FALSE_READ, WRONG_ENTRY, NO_UNIT_AVAILABLE, OUT_OF_AREA, DUPLICATE, OTHER]
    outcomes: [INTERCEPTED, NOT_FOUND, FALSE_READ, OTHER]
    feedback_on: [FALSE_READ, WRONG_ENTRY]         # reasons/outcomes that tell the owner
    note_required_for: [OTHER]
    retention: {closed: 24 h, open: 30 d}          # how long a hit's state outlives it
    unknown_hit_grace: 30 s                        # an event waits this long for its hit

A route without ``destination``, ``ack_timeout`` or ``escalate_to`` takes its
parent's, as in Alertmanager. ``ack_timeout`` is a mapping from priority to a
duration (a priority not named never escalates), one duration for every
priority, or ``none``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import yaml

from gateway import yamlmarks
from gateway.labels import LABELS
from gateway.model import (  # noqa: F401 - the configuration's types, re-exported for its readers
    DEFAULT_ACK_TIMEOUT_MS, DEFAULT_CLOSED_RETENTION_MS, DEFAULT_FEEDBACK_ON, DEFAULT_NOTE_REQUIRED_FOR,
    DEFAULT_OPEN_RETENTION_MS, DEFAULT_OUTCOMES, DEFAULT_REASONS, DEFAULT_UNKNOWN_HIT_GRACE_MS, PRIORITIES,
    ConfigError, Destination, GatewayConfig, Matcher, Problem, Route, Webhook, config_version, destination_topic,
)
from udfs.config import ConfigError as _DurationError
from udfs.config import parse_duration

# A destination's name becomes its topic, gw.<name>: Kafka's topic alphabet, minus the
# '.' and '_' that Kafka warns may collide in metric names.
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,100}$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,40}$")
_MATCHER = re.compile(r'^\s*([a-z_]+)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s]*))\s*$')

_TOP_KEYS = {"national", "destinations", "list_owners", "route", "reasons", "outcomes",
             "feedback_on", "note_required_for", "retention", "unknown_hit_grace"}
_DESTINATION_KEYS = {"display_name", "users", "escalate_to", "webhook"}
_WEBHOOK_KEYS = {"url", "tries", "backoff", "timeout"}
_ROUTE_KEYS = {"matchers", "destination", "continue", "ack_timeout", "escalate_to", "routes"}
_RETENTION_KEYS = {"closed", "open"}


class _Reader:
    """Collects every problem of one document instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    def mapping(self, value: Any, line: int, where: str, allowed: set[str] | None) -> yamlmarks.Marked:
        """``value`` as a mapping (empty when it is none); ``allowed`` None lets any key in."""
        if not isinstance(value, yamlmarks.Marked):
            self.fail(line, f"{where}: must be a mapping, got {_kind(value)}")
            return yamlmarks.Marked()
        for key in value:
            if allowed is not None and key not in allowed:
                self.fail(value.line_of(key), f"{where}: unknown key {key!r}; known: {', '.join(sorted(allowed))}")
        return value

    def names(self, value: Any, line: int, where: str, pattern: re.Pattern) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(line, f"{where}: must be a list, got {_kind(value)}")
            return ()
        good = []
        for i, item in enumerate(value):
            if isinstance(item, str) and pattern.match(item):
                good.append(item)
            else:
                self.fail(value.line_of(i), f"{where}[{i}]: {item!r} is not a valid name")
        return tuple(good)

    def duration(self, value: Any, line: int, where: str) -> int | None:
        try:
            return parse_duration(value, where)
        except _DurationError as error:
            self.fail(line, str(error))
            return None

    def destination_name(self, value: Any, line: int, where: str, known: Mapping[str, Any]) -> str | None:
        if not isinstance(value, str) or value not in known:
            self.fail(line, f"{where}: unknown destination {value!r}; known: {', '.join(sorted(known)) or 'none'}")
            return None
        return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def parse_config(text: str, source: str = "<config>") -> GatewayConfig:
    """The configuration in ``text``; ``ConfigError`` names each problem and its line."""
    try:
        document = yamlmarks.load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ConfigError(source, [Problem(mark.line + 1 if mark else 0,
                                           f"not YAML: {getattr(error, 'problem', None) or error}")])
    reader = _Reader()
    top = reader.mapping(document, 1, "the document", _TOP_KEYS)
    destinations = _destinations(reader, top)
    national = None
    if "national" in top:
        national = reader.destination_name(top["national"], top.line_of("national"), "national", destinations)
    else:
        reader.fail(top.line, "national: required (the national centre, the default escalate_to)")
    list_owners = {}
    if "list_owners" in top:
        owners = reader.mapping(top["list_owners"], top.line_of("list_owners"), "list_owners", None)
        for list_name, owner in owners.items():
            if reader.destination_name(owner, owners.line_of(list_name), f"list_owners.{list_name}", destinations):
                list_owners[str(list_name)] = owner
    reasons = _codes(reader, top, "reasons", DEFAULT_REASONS)
    outcomes = _codes(reader, top, "outcomes", DEFAULT_OUTCOMES)
    feedback_on = _codes(reader, top, "feedback_on", DEFAULT_FEEDBACK_ON)
    note_required_for = _codes(reader, top, "note_required_for", DEFAULT_NOTE_REQUIRED_FOR)
    for key, codes in (("feedback_on", feedback_on), ("note_required_for", note_required_for)):
        for code in set(codes) - set(reasons) - set(outcomes):
            reader.fail(top.line_of(key), f"{key}: {code!r} is neither a reason nor an outcome")
    retention = reader.mapping(top.get("retention", yamlmarks.Marked()), top.line_of("retention"),
                               "retention", _RETENTION_KEYS)
    closed_ms = open_ms = None
    if "closed" in retention:
        closed_ms = reader.duration(retention["closed"], retention.line_of("closed"), "retention.closed")
    if "open" in retention:
        open_ms = reader.duration(retention["open"], retention.line_of("open"), "retention.open")
    grace_ms = None
    if "unknown_hit_grace" in top:
        grace_ms = reader.duration(top["unknown_hit_grace"], top.line_of("unknown_hit_grace"), "unknown_hit_grace")
    root = None
    if "route" not in top:
        reader.fail(top.line, "route: required (the root of the routing tree)")
    else:
        root = _root(reader, top["route"], top.line_of("route"), destinations, national)
    if reader.problems:
        raise ConfigError(source, reader.problems)
    return GatewayConfig(
        version=config_version(text), national=national, destinations=destinations, route=root,
        list_owners=list_owners, reasons=reasons, outcomes=outcomes, feedback_on=frozenset(feedback_on),
        note_required_for=frozenset(note_required_for),
        closed_retention_ms=DEFAULT_CLOSED_RETENTION_MS if closed_ms is None else closed_ms,
        open_retention_ms=DEFAULT_OPEN_RETENTION_MS if open_ms is None else open_ms,
        unknown_hit_grace_ms=DEFAULT_UNKNOWN_HIT_GRACE_MS if grace_ms is None else grace_ms)


def _codes(reader: _Reader, top: yamlmarks.Marked, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    if key not in top:
        return default
    return reader.names(top[key], top.line_of(key), key, _CODE)


def _destinations(reader: _Reader, top: yamlmarks.Marked) -> dict[str, Destination]:
    if "destinations" not in top:
        reader.fail(top.line, "destinations: required")
        return {}
    specs = reader.mapping(top["destinations"], top.line_of("destinations"), "destinations", None)
    for name in specs:
        if not isinstance(name, str) or not _NAME.match(name):
            reader.fail(specs.line_of(name), f"destinations: {name!r} is not a valid name "
                                             "(lower-case letters, digits and '-'; it names a topic)")
    names = {name: None for name in specs if isinstance(name, str) and _NAME.match(name)}
    destinations = {}
    for name in names:
        where = f"destinations.{name}"
        spec = reader.mapping(specs[name] or yamlmarks.Marked(), specs.line_of(name), where, _DESTINATION_KEYS)
        users = reader.names(spec.get("users", []), spec.line_of("users"), f"{where}.users",
                             re.compile(r"^\S{1,200}$"))
        escalate_to = None
        if spec.get("escalate_to") is not None:
            escalate_to = reader.destination_name(spec["escalate_to"], spec.line_of("escalate_to"),
                                                  f"{where}.escalate_to", names)
        webhook = _webhook(reader, spec["webhook"], spec.line_of("webhook"), f"{where}.webhook") \
            if spec.get("webhook") is not None else None
        display = spec.get("display_name", name)
        if not isinstance(display, str):
            reader.fail(spec.line_of("display_name"), f"{where}.display_name: must be text")
            display = name
        destinations[name] = Destination(name, display, frozenset(users), escalate_to, webhook)
    return destinations


def _webhook(reader: _Reader, value: Any, line: int, where: str) -> Webhook | None:
    spec = reader.mapping(value, line, where, _WEBHOOK_KEYS)
    url = spec.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        reader.fail(spec.line_of("url"), f"{where}.url: an http:// or https:// URL, got {url!r}")
        return None
    tries = spec.get("tries", 5)
    if not isinstance(tries, int) or isinstance(tries, bool) or not 1 <= tries <= 20:
        reader.fail(spec.line_of("tries"), f"{where}.tries: a whole number from 1 to 20, got {tries!r}")
        tries = 5
    backoff = reader.duration(spec.get("backoff", "500 ms"), spec.line_of("backoff"), f"{where}.backoff")
    timeout = reader.duration(spec.get("timeout", "2 s"), spec.line_of("timeout"), f"{where}.timeout")
    if timeout == 0:
        reader.fail(spec.line_of("timeout"), f"{where}.timeout: must be more than 0")
    return Webhook(url, tries, 500 if backoff is None else backoff, timeout or 2000)


def _ack_timeout(reader: _Reader, value: Any, line: int, where: str) -> Mapping[str, int]:
    if value is None or value == "none":
        return {}
    if isinstance(value, str):
        ms = reader.duration(value, line, where)
        return {} if ms is None else {p: ms for p in PRIORITIES}
    spec = reader.mapping(value, line, where, set(PRIORITIES))
    out = {}
    for priority, text in spec.items():
        if priority in PRIORITIES and text not in (None, "none"):
            ms = reader.duration(text, spec.line_of(priority), f"{where}.{priority}")
            if ms is not None:
                out[priority] = ms
    return out


def _matchers(reader: _Reader, value: Any, line: int, where: str) -> tuple[Matcher, ...]:
    if not isinstance(value, list):
        reader.fail(line, f"{where}: must be a list of 'label op \"value\"', got {_kind(value)}")
        return ()
    found = []
    for i, text in enumerate(value):
        at = value.line_of(i)
        match = _MATCHER.match(text) if isinstance(text, str) else None
        if not match:
            reader.fail(at, f"{where}[{i}]: {text!r} is not 'label op \"value\"' with op one of = != =~ !~")
            continue
        label, op = match.group(1), match.group(2)
        raw = match.group(3) if match.group(3) is not None else match.group(4)
        matcher_value = re.sub(r"\\(.)", r"\1", raw)
        if label not in LABELS:
            reader.fail(at, f"{where}[{i}]: unknown label {label!r}; labels: {', '.join(LABELS)}")
            continue
        pattern = None
        if op in ("=~", "!~"):
            try:
                pattern = re.compile(matcher_value)
            except re.error as error:
                reader.fail(at, f"{where}[{i}]: bad regex {matcher_value!r}: {error}")
                continue
        found.append(Matcher(label, op, matcher_value, pattern))
    return tuple(found)


def _root(reader: _Reader, value: Any, line: int, destinations: Mapping[str, Destination],
          national: str | None) -> Route | None:
    spec = reader.mapping(value, line, "route", _ROUTE_KEYS)
    if spec.get("matchers"):
        reader.fail(spec.line_of("matchers"), "route: the root matches every hit, so it takes no matchers")
    if spec.get("continue"):
        reader.fail(spec.line_of("continue"), "route: the root has no siblings, so 'continue' means nothing")
    if "destination" not in spec:
        reader.fail(spec.line, "route: the root needs a destination (hits no child takes go there)")
    parent = Route("root", spec.line, (), "", False, DEFAULT_ACK_TIMEOUT_MS, national)
    return _route(reader, spec, "root", destinations, parent, is_root=True)


def _route(reader: _Reader, spec: yamlmarks.Marked, path: str, destinations: Mapping[str, Destination],
           parent: Route, is_root: bool = False) -> Route:
    matchers = () if is_root else _matchers(reader, spec.get("matchers", []), spec.line_of("matchers"),
                                            f"{path}.matchers")
    destination = parent.destination
    if "destination" in spec:
        destination = reader.destination_name(spec["destination"], spec.line_of("destination"),
                                              f"{path}.destination", destinations) or destination
    continue_ = spec.get("continue", False)
    if not isinstance(continue_, bool):
        reader.fail(spec.line_of("continue"), f"{path}.continue: true or false, got {continue_!r}")
        continue_ = False
    ack = parent.ack_timeout_ms
    if "ack_timeout" in spec:
        ack = _ack_timeout(reader, spec["ack_timeout"], spec.line_of("ack_timeout"), f"{path}.ack_timeout")
    escalate_to = parent.escalate_to
    if "escalate_to" in spec:
        escalate_to = None if spec["escalate_to"] in (None, "none") else reader.destination_name(
            spec["escalate_to"], spec.line_of("escalate_to"), f"{path}.escalate_to", destinations)
    node = Route(path, spec.line, matchers, destination, continue_, dict(ack), escalate_to)
    children = spec.get("routes", [])
    if not isinstance(children, list):
        reader.fail(spec.line_of("routes"), f"{path}.routes: must be a list of routes, got {_kind(children)}")
        children = []
    routes = []
    for i, child in enumerate(children):
        child_path = f"{path}.{i}"
        child_spec = reader.mapping(child, children.line_of(i), child_path, _ROUTE_KEYS)
        routes.append(_route(reader, child_spec, child_path, destinations, node))
    return Route(path, spec.line, matchers, destination, continue_, dict(ack), escalate_to, tuple(routes))
