"""Bringing the registry in line with FEBLAM's contracts: what `feblam schemas apply` does.

For each target (a topic and the contract it carries) the subject gets the
wanted compatibility rule first, so that a new version is checked under it,
and then the contract as a version: registered if the subject has no version
matching it, left alone if it has. What happened is returned per subject, so
the caller reports it; nothing here prints.

An incompatible contract is that subject's outcome, and the other subjects
are still applied. A registry that cannot be reached, refuses the credentials
or is misconfigured raises (every subject would fail alike).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import schemas
from connectors.contracts import COMPATIBILITY, FEEDS, REFERENCE_CONTRACT, subject
from connectors.registry import (
    IncompatibleSchemaError,
    RegistryAuthError,
    RegistryClient,
    RegistryError,
    RegistrySettingsError,
    RegistryUnreachableError,
    SchemaNotFoundError,
    SubjectNotFoundError,
)

NEW_SUBJECT = "new subject"
NEW_VERSION = "new version"
UNCHANGED = "unchanged"
INCOMPATIBLE = "incompatible"
FAILED = "failed"

RULE_SET = "set"
RULE_ALREADY = "already"

FATAL = (RegistryUnreachableError, RegistryAuthError, RegistrySettingsError)


@dataclass(frozen=True)
class Target:
    """A topic and the contract (`schemas/<contract>.avsc`) its values carry."""

    topic: str
    contract: str

    @property
    def subject(self) -> str:
        return subject(self.topic)


def targets(feed_topics: dict[str, str], reference_topics: list[str]) -> list[Target]:
    """Targets for FEBLAM's feeds (`feed_topics`: feed name -> topic, every feed of
    `FEEDS`) and for each reference topic; a topic named twice is an error."""
    found = [Target(feed_topics[f.name], f.contract) for f in FEEDS]
    found += [Target(topic, REFERENCE_CONTRACT) for topic in reference_topics]
    topics = [target.topic for target in found]
    twice = sorted({topic for topic in topics if topics.count(topic) > 1})
    if twice:
        raise ValueError(f"named for two feeds: {', '.join(twice)}; give each feed a topic of its own")
    return found


@dataclass
class Outcome:
    """What happened to one subject. `schema` is NEW_SUBJECT, NEW_VERSION, UNCHANGED,
    INCOMPATIBLE or FAILED; `compatibility` RULE_SET (`previous_level` was there
    before, None if nothing was) or RULE_ALREADY; `schema_id` the contract's id
    (None when not registered, or not yet in a dry run); `detail` the registry's
    words when something went wrong."""

    topic: str
    subject: str
    contract: str
    schema: str
    compatibility: str
    level: str
    previous_level: str | None = None
    schema_id: int | None = None
    detail: str | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.schema not in (INCOMPATIBLE, FAILED)

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def apply(registry: RegistryClient, wanted: list[Target], *, level: str = COMPATIBILITY,
          dry_run: bool = False) -> list[Outcome]:
    """Set `level` on each target's subject and register its contract, in order; with
    `dry_run` change nothing and say what would change (compatibility is then
    checked under the rule the subject has now). Raises RegistryUnreachableError,
    RegistryAuthError or RegistrySettingsError."""
    return [_apply_one(registry, target, level, dry_run) for target in wanted]


def _apply_one(registry: RegistryClient, target: Target, level: str, dry_run: bool) -> Outcome:
    outcome = Outcome(target.topic, target.subject, target.contract, schema=UNCHANGED,
                      compatibility=RULE_ALREADY, level=level, dry_run=dry_run)
    contract = schemas.load(target.contract)
    try:
        current = registry.compatibility(target.subject)
        if current != level:
            outcome.compatibility, outcome.previous_level = RULE_SET, current
            if not dry_run:
                registry.set_compatibility(target.subject, level)
        try:
            outcome.schema_id = registry.lookup(target.subject, contract)
            return outcome
        except SubjectNotFoundError:
            outcome.schema = NEW_SUBJECT
        except SchemaNotFoundError:
            outcome.schema = NEW_VERSION
        if dry_run:
            if not registry.is_compatible(target.subject, contract):
                outcome.schema, outcome.detail = INCOMPATIBLE, "the registry's compatibility test says no"
            return outcome
        outcome.schema_id = registry.register(target.subject, contract)
    except IncompatibleSchemaError as error:
        outcome.schema, outcome.detail = INCOMPATIBLE, str(error)
    except FATAL:
        raise
    except RegistryError as error:
        outcome.schema, outcome.detail = FAILED, str(error)
    return outcome
