"""What `feblam schemas apply` decides per subject, and who registers what, with an
in-memory registry double (the real registry: tests/integration/test_schemas_apply.py)."""

from __future__ import annotations

import pytest

import schemas
from connectors import governance
from connectors.contracts import (
    FEEDS,
    ContractNotRegisteredError,
    encoder,
    feed,
    lookup,
    register_or_lookup,
)
from connectors.registry import (
    IncompatibleSchemaError,
    RegistryUnreachableError,
    SchemaNotFoundError,
    SubjectNotFoundError,
)
from feblam.commands.schemas import describe, summary


class MemoryRegistry:
    """The façade's calls that governance and contracts make, kept in memory."""

    def __init__(self, refuse: set[str] = frozenset(), down: bool = False):
        self.versions_of: dict[str, list[dict]] = {}
        self.rules: dict[str, str] = {}
        self.refuse = refuse  # subjects that refuse any new version as incompatible
        self.down = down
        self.writes: list[tuple[str, str]] = []

    def _check(self):
        if self.down:
            raise RegistryUnreachableError("registry unreachable after 4 attempts")

    def compatibility(self, subject):
        self._check()
        return self.rules.get(subject)

    def set_compatibility(self, subject, level):
        self.writes.append(("rule", subject))
        self.rules[subject] = level

    def lookup(self, subject, schema):
        self._check()
        if subject not in self.versions_of:
            raise SubjectNotFoundError(f"Subject '{subject}' not found.", 404, 40401)
        if schema not in self.versions_of[subject]:
            raise SchemaNotFoundError("no matching version", 404, 40403)
        return 1000 + self.versions_of[subject].index(schema)

    def is_compatible(self, subject, schema):
        return subject not in self.refuse

    def register(self, subject, schema):
        self.writes.append(("version", subject))
        if subject in self.refuse and self.versions_of.get(subject):
            raise IncompatibleSchemaError("Incompatible artifact", 409, 409)
        self.versions_of.setdefault(subject, [])
        if schema not in self.versions_of[subject]:
            self.versions_of[subject].append(schema)
        return self.lookup(subject, schema)


TOPICS = {f.name: f.default_topic for f in FEEDS}


def test_targets_cover_every_feed_and_each_reference_topic():
    found = governance.targets(TOPICS, ["ref.stolen"])
    assert [(t.topic, t.contract) for t in found] == [
        ("plate-reads", "PlateRead"), ("hits", "Hit"), ("plate-reads.dlq", "DeadLetter"), ("cameras", "Camera"),
        ("hit-sightings", "HitSighting"), ("reference-refusals", "ReferenceRefusal"),
        ("gw.lifecycle-events", "LifecycleEvent"), ("gw.refused-events", "RefusedEvent"),
        ("gw.config", "GatewayConfigVersion"), ("gw.dead-deliveries", "DeadDelivery"),
        ("gw.dead-inputs", "DeadLetter"), ("ref.stolen", "ReferenceEntry")]
    for target in found:
        schemas.load(target.contract)  # every feed's contract exists


def test_a_topic_named_for_two_feeds_is_refused():
    with pytest.raises(ValueError, match="named for two feeds: hits"):
        governance.targets({**TOPICS, "sightings": "hits"}, [])


def test_feeds_are_found_by_name():
    assert feed("dead-letter").default_topic == "plate-reads.dlq" and feed("hits").option == "--hits-topic"
    with pytest.raises(KeyError, match="known: reads, hits"):
        feed("nope")


def test_first_apply_sets_rules_then_registers_second_changes_nothing():
    registry = MemoryRegistry()
    wanted = governance.targets(TOPICS, [])
    first = governance.apply(registry, wanted)
    assert {(o.schema, o.compatibility, o.previous_level) for o in first} == {("new subject", "set", None)}
    # The rule comes before the version, so that the version is checked under it.
    assert registry.writes[:2] == [("rule", "plate-reads-value"), ("version", "plate-reads-value")]
    registry.writes.clear()
    second = governance.apply(registry, wanted)
    assert {(o.schema, o.compatibility) for o in second} == {("unchanged", "already")}
    assert registry.writes == []
    assert [o.schema_id for o in second] == [o.schema_id for o in first]


def test_a_dry_run_writes_nothing_and_says_what_would_change():
    registry = MemoryRegistry()
    registry.rules["hits-value"] = "FULL"
    outcomes = governance.apply(registry, governance.targets(TOPICS, []), dry_run=True)
    assert registry.writes == []
    hits = next(o for o in outcomes if o.subject == "hits-value")
    assert (hits.schema, hits.compatibility, hits.previous_level, hits.schema_id) == ("new subject", "set", "FULL", None)
    assert describe(hits) == "Hit: would be a new subject; compatibility would be set to BACKWARD (was FULL)"
    assert summary(outcomes) == "11 subjects: 11 new; compatibility would be set on 11"


def test_an_incompatible_contract_is_that_subjects_outcome_and_the_others_go_on():
    registry = MemoryRegistry(refuse={"plate-reads-value"})
    registry.versions_of["plate-reads-value"] = [{"type": "record", "name": "PlateRead", "fields": []}]
    outcomes = governance.apply(registry, governance.targets(TOPICS, []))
    reads, *others = outcomes
    assert (reads.schema, reads.ok, reads.schema_id) == ("incompatible", False, None)
    assert "Incompatible artifact" in reads.detail
    assert describe(reads).startswith("PlateRead: INCOMPATIBLE, not registered: Incompatible artifact;")
    assert all(o.ok and o.schema == "new subject" for o in others)
    assert summary(outcomes) == "11 subjects: 10 new, 1 INCOMPATIBLE; compatibility set on 11"


def test_a_new_version_of_an_existing_subject():
    registry = MemoryRegistry()
    registry.versions_of["hits-value"] = [{"type": "record", "name": "Hit", "fields": []}]
    registry.rules["hits-value"] = "BACKWARD"
    hits = governance.apply(registry, [governance.Target("hits", "Hit")])[0]
    assert (hits.schema, hits.compatibility, hits.schema_id) == ("new version", "already", 1001)
    assert describe(hits) == "Hit: new version (id 1001); already BACKWARD"


def test_an_unreachable_registry_stops_everything():
    with pytest.raises(RegistryUnreachableError):
        governance.apply(MemoryRegistry(down=True), governance.targets(TOPICS, []))


# -- who registers: producers may, the job never -------------------------------------------------


def test_a_producer_registers_its_contract_once_and_sets_no_rule():
    registry = MemoryRegistry()
    first = register_or_lookup(registry, "plate-reads", "PlateRead")
    assert register_or_lookup(registry, "plate-reads", "PlateRead") == first
    assert registry.writes == [("version", "plate-reads-value")] and registry.rules == {}
    assert encoder(registry, "plate-reads", "PlateRead", register=True).schema_id == first


def test_the_job_looks_up_and_names_the_governance_step_when_absent():
    registry = MemoryRegistry()
    with pytest.raises(ContractNotRegisteredError,
                       match=r"^subject hits-value has no version matching contract Hit: run `feblam schemas apply`"):
        lookup(registry, "hits", "Hit")
    with pytest.raises(ContractNotRegisteredError, match="plate-reads.dlq-value has no version matching contract DeadLetter"):
        encoder(registry, "plate-reads.dlq", "DeadLetter", register=False)  # what the job's Encoders do
    assert registry.writes == []
    governance.apply(registry, governance.targets(TOPICS, []))
    assert encoder(registry, "hits", "Hit", register=False).schema_id == lookup(registry, "hits", "Hit")
    assert registry.writes.count(("version", "hits-value")) == 1  # apply's, the look-ups wrote nothing
