"""jobs.taskmanager outside a taskmanager: no Java thread to be interrupted, and
memory handed back without harm."""

from jobs.taskmanager import cancelled, check_cancelled, return_free_memory


def test_outside_a_taskmanager_nothing_is_cancelled():
    assert cancelled() is False
    check_cancelled("a load")   # does not raise
    return_free_memory()
