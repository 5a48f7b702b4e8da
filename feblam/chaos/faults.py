"""Faults injected into the local stack, each as it happens in production: a JVM
killed with no warning (the stack's supervisor starts a new one, as an
orchestrator would), a broker stopped and started again (a rolling upgrade), a
registry killed and started again (a crashed pod).

`inject` returns once the fault is done and the service it hit answers again,
and says how long that took; what the job then needs to recover is what the
run measures.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from feblam.chaos.plan import Fault, FaultKind
from feblam.stack.process import Daemon
from feblam.stack.services import START_TIMEOUT_S, Flink, Kafka, Registry, Service
from feblam.stack.settings import StackSettings


class FaultError(RuntimeError):
    """A fault could not be injected, or the service did not come back."""


@dataclass(frozen=True)
class Injected:
    kind: str
    target: str
    at_s: float            # seconds after the first read was sent
    back_after_s: float    # until the service answered again


def inject(fault: Fault, settings: StackSettings, started: float) -> Injected:
    at = time.monotonic() - started
    began = time.monotonic()
    if fault.kind is FaultKind.TASKMANAGER_KILL:
        flink = Flink(settings)
        daemon = flink.daemons[fault.target]
        before = _taskmanager_ids(settings)
        daemon.kill_descendants()
        # The killed taskmanager stays listed until its heartbeat times out: it is
        # back when a taskmanager the cluster did not know registers.
        _wait_for(lambda: bool(_taskmanager_ids(settings) - before), f"{daemon.name} replaced")
        target = daemon.name
    elif fault.kind is FaultKind.JOBMANAGER_KILL:
        flink = Flink(settings)
        flink.daemons[0].kill_descendants()
        time.sleep(1)  # the killed jobmanager's REST port may answer for a moment still
        _wait_for(flink.ready, "a new jobmanager")
        target = flink.daemons[0].name
    elif fault.kind is FaultKind.BROKER_RESTART:
        kafka = Kafka(settings)
        kafka.stop()
        _start(kafka)
        target = "kafka"
    elif fault.kind is FaultKind.REGISTRY_RESTART:
        registry = Registry(settings)
        pid = registry.daemons[0].pid()
        if pid is None:
            raise FaultError("the registry does not run")
        os.killpg(pid, signal.SIGKILL)
        _wait_gone(registry.daemons[0])
        _start(registry)
        target = "registry"
    else:  # pragma: no cover - the enum has no other member
        raise FaultError(f"unknown fault {fault.kind}")
    return Injected(fault.kind.value, target, round(at, 1), round(time.monotonic() - began, 1))


def _wait_gone(daemon: Daemon) -> None:
    deadline = time.monotonic() + 30
    while daemon.running():
        if time.monotonic() > deadline:
            raise FaultError(f"{daemon.name} survived kill -9")
        time.sleep(0.1)


def _start(service: Service) -> None:
    service.start()
    for daemon in service.daemons:
        daemon.wait_ready(service.ready, START_TIMEOUT_S)


def _taskmanager_ids(settings: StackSettings) -> set[str]:
    import requests

    answer = requests.get(f"{settings.flink_rest_url}/taskmanagers", timeout=5).json()
    return {tm["id"] for tm in answer["taskmanagers"]}


def _wait_for(condition, what: str) -> None:
    """Until `condition()` is true. An error of the probe counts as "not yet": the
    service it asks is the one just hit."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if condition():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise FaultError(f"{what}: no answer within {START_TIMEOUT_S:.0f} s")
        time.sleep(0.5)
