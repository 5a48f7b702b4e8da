"""Finding read connectors: the Python entry-point group `feblam.read_connectors`.

Any installed distribution may add connectors by declaring, in its pyproject.toml,

    [project.entry-points."feblam.read_connectors"]
    acme-xml = "feblam_acme_connector:AcmeXmlReads"

The entry point's name is the connector's name; its object is a
`ReadConnector` subclass. FEBLAM's own connectors are declared the same way.

A connector that cannot be loaded (its module fails to import, its object is
not a connector, two distributions claim one name) is reported as a
`BrokenConnector` naming the entry point and the error, and never hides the
others: one vendor's broken package must not stop every other feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from connectors.sources.base import ConnectorContext, ReadConnector

GROUP = "feblam.read_connectors"


@dataclass(frozen=True)
class ConnectorInfo:
    """A loadable connector: its name, kind, description, the distribution that
    provides it (name and version) and its class."""

    name: str
    kind: str
    description: str
    distribution: str
    cls: type[ReadConnector]

    def create(self, context: ConnectorContext | None = None) -> ReadConnector:
        return self.cls(context or ConnectorContext())


@dataclass(frozen=True)
class BrokenConnector:
    """An entry point that does not give a usable connector, and why."""

    name: str
    target: str
    distribution: str
    error: str

    def message(self) -> str:
        return f"connector {self.name!r} ({self.target}, from {self.distribution}) cannot be loaded: {self.error}"


class UnknownConnectorError(LookupError):
    """No connector of that name; the message lists the known ones and the broken ones."""


@dataclass(frozen=True)
class Discovery:
    connectors: dict[str, ConnectorInfo]
    broken: list[BrokenConnector]

    def get(self, name: str) -> ConnectorInfo:
        """The connector called `name`, or `UnknownConnectorError` saying what there is."""
        if name in self.connectors:
            return self.connectors[name]
        for broken in self.broken:
            if broken.name == name:
                raise UnknownConnectorError(broken.message())
        known = ", ".join(sorted(self.connectors)) or "none"
        raise UnknownConnectorError(f"no read connector {name!r} (installed: {known}); "
                                    "`feblam connectors list` shows them")


def _distribution(point: EntryPoint) -> str:
    dist = getattr(point, "dist", None)
    return f"{dist.metadata['Name']} {dist.version}" if dist is not None else "unknown distribution"


def _load(point: EntryPoint) -> ConnectorInfo:
    cls = point.load()
    if not (isinstance(cls, type) and issubclass(cls, ReadConnector)):
        raise TypeError(f"{point.value} is a {type(cls).__name__}, not a ReadConnector subclass")
    if getattr(cls, "__abstractmethods__", None):
        raise TypeError(f"{cls.__name__} does not implement {', '.join(sorted(cls.__abstractmethods__))}")
    return ConnectorInfo(point.name, cls.kind, (cls.description or "").strip(), _distribution(point), cls)


def discover(group: str = GROUP) -> Discovery:
    """Every connector declared in `group` by an installed distribution, loaded."""
    points = sorted(entry_points(group=group), key=lambda p: (p.name, _distribution(p)))
    connectors: dict[str, ConnectorInfo] = {}
    broken: list[BrokenConnector] = []
    claimed: dict[str, list[EntryPoint]] = {}
    for point in points:
        claimed.setdefault(point.name, []).append(point)
    for name, claims in claimed.items():
        # An editable and a regular install of one distribution can list one entry point twice.
        targets = {(p.value, _distribution(p)) for p in claims}
        if len(targets) > 1:
            owners = " and ".join(sorted(f"{v} ({d})" for v, d in targets))
            broken.append(BrokenConnector(name, claims[0].value, _distribution(claims[0]),
                                          f"the name is claimed by {owners}"))
            continue
        point = claims[0]
        try:
            connectors[name] = _load(point)
        except Exception as error:  # any import-time failure of someone else's package
            broken.append(BrokenConnector(name, point.value, _distribution(point),
                                          f"{type(error).__name__}: {error}"))
    return Discovery(connectors, broken)
