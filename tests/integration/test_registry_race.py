"""Processes that start at the same instant and register the same contracts on the same
fresh subjects, against the real Apicurio: all succeed, with the same ids.

What Apicurio 3.3 does under such a race (tried with 8 and 16 processes on fresh
subjects): concurrent POST /subjects/{s}/versions of one schema all answer 200
with one id and leave one version, but of concurrent PUT /config/{s} that create
the subject's rule, some answer 409 "A rule named 'COMPATIBILITY' already
exists" (error code 0), in most rounds. The old client took that 409 for an
incompatible schema and the process died. Each process here does what
`feblam schemas apply` does (rule, then contract) and what a producer does at
start (`register_or_lookup`), so both races are run every time.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import uuid

import pytest

from connectors import governance
from connectors.contracts import COMPATIBILITY, FEEDS, REFERENCE_CONTRACT, register_or_lookup, subject
from connectors.registry import RegistryClient, RegistrySettings


def _targets(run: str) -> list[governance.Target]:
    topics = {f.name: f"race-{run}.{f.default_topic}" for f in FEEDS}
    return governance.targets(topics, [f"race-{run}.ref.stolen", f"race-{run}.ref.lez_vehicle_status"])


def _start_together(url: str, run: str, barrier, results) -> None:
    """One process: wait for the others, then apply the contracts and register them as a
    producer would; puts every id it got, by subject, or the error it died of."""
    results.put(_registered(url, run, barrier))


def _registered(url: str, run: str, barrier) -> dict:
    # No retry: a 409 must be dealt with by the client's logic, not hidden by a retry.
    # from_env: a secured stack's registry needs its credentials and CA.
    registry = RegistryClient(dataclasses.replace(RegistrySettings.from_env(url), max_retries=0))
    targets = _targets(run)
    barrier.wait(timeout=120)
    try:
        outcomes = governance.apply(registry, targets)
        ids = {o.subject: ("apply", o.schema_id, o.schema, o.detail) for o in outcomes}
        for target in targets:
            ids[target.subject + " producer"] = ("producer", register_or_lookup(registry, target.topic, target.contract))
        return ids
    except Exception as error:  # reported by the test, with its type
        return {"error": f"{type(error).__name__}: {error}"}


@pytest.mark.parametrize("processes", [2, 8])
def test_processes_starting_together_all_register_with_the_same_ids(stack, processes):
    run = uuid.uuid4().hex[:10]
    context = multiprocessing.get_context("spawn")  # real separate interpreters, as processes started by hand
    barrier, queue = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_start_together, args=(stack.schema_registry_url, run, barrier, queue))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        results = [queue.get(timeout=180) for _ in workers]
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()

    errors = [r["error"] for r in results if "error" in r]
    assert not errors, errors
    failed = [(name, value) for r in results for name, value in r.items() if value[0] == "apply" and value[1] is None]
    assert not failed, failed
    for target in _targets(run):
        ids = {r[target.subject][1] for r in results} | {r[target.subject + " producer"][1] for r in results}
        assert len(ids) == 1, (target.subject, ids)
        # Some process made the subject (those that looked before any had registered all
        # report it new); none was refused.
        assert governance.NEW_SUBJECT in [r[target.subject][2] for r in results]

    registry = RegistryClient(stack.schema_registry_url)
    for target in _targets(run):
        assert registry.versions(subject(target.topic)) == [1], target
        assert registry.compatibility(subject(target.topic)) == COMPATIBILITY
    assert {t.contract for t in _targets(run)} == {f.contract for f in FEEDS} | {REFERENCE_CONTRACT}
