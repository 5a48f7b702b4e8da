"""jobs.taskmanager outside a taskmanager: no Java thread to be interrupted, memory
handed back without harm, and the interpreter's switch interval set."""

import sys

import pytest

from jobs.taskmanager import SWITCH_INTERVAL_S, cancelled, check_cancelled, return_free_memory, share_the_interpreter


def test_outside_a_taskmanager_nothing_is_cancelled():
    assert cancelled() is False
    check_cancelled("a load")   # does not raise
    return_free_memory()


def test_sharing_the_interpreter_sets_the_switch_interval_whatever_it_was():
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)   # Python's default, and what another job might leave
        share_the_interpreter()
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
        assert SWITCH_INTERVAL_S > 0.005
    finally:
        sys.setswitchinterval(before)


@pytest.mark.parametrize("module, function", [
    ("jobs.match_step", "DecodeAndMatch"), ("jobs.operators", "DetectClones"), ("jobs.operators", "Deduplicate"),
    ("jobs.gateway_operators", "DecodeInput"), ("jobs.gateway_operators", "RouteAndFollow"),
])
def test_every_python_step_shares_the_interpreter_when_it_opens(module, function):
    # The interval is the whole taskmanager's: a step that did not set it would run at
    # whatever the last job to open left, so each of FEBLAM's steps sets it.
    import importlib
    import inspect

    step = getattr(importlib.import_module(module), function)
    assert "share_the_interpreter()" in inspect.getsource(step.open)
