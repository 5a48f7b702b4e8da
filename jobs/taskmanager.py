"""What a Python step's long `open` needs from the taskmanager it runs in.

- **Cancellation.** Flink cancels a task by interrupting its thread, and waits for
  it to end before a restarted job is deployed again. A subtask loading 10,000,000
  reference entries in `open` (jobs.match_step) does not see that interrupt: in the
  restore of `feblam bench e2e --entries 10000000` a subtask whose redeployment had
  already failed went on loading for 24.7 s, and the whole restart waited for it.
  Work that calls `check_cancelled()` between its steps ends within one step.
- **Memory.** A taskmanager's Python outlives its jobs (thread mode), and the C
  allocator keeps what a load freed: `return_free_memory()` gives it back to the
  system (a 9,300,000-entry load held 1,824 MB after it, 1,366 MB once trimmed).
- **The interpreter lock.** Every Python step of a taskmanager runs under its one
  interpreter, in a Java thread of its own: `share_the_interpreter()` sets how
  long one step may hold the lock before another that waits makes it let go.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

# How long a Python step holds the taskmanager's interpreter lock while another waits
# for it (Python's switch interval; its default is 5 ms). A step lets go anyway each
# time it returns to Java: the match step after each batch (about 10 ms at 500
# reads), the others after each record. At 5 ms the clone and de-duplication steps
# cut into nearly every batch of the match step, and on a machine whose cores are
# all busy each forced hand-over waits for the other thread to be scheduled.
# `feblam bench e2e` with clone suspicion on (docs/benchmarks.md, "The interpreter
# lock"): p99 read-to-hit 102-172 ms (median 143) in 7 runs at 50 ms, against
# 83-286 ms (median 216) in 8 at 5 ms; reads/s the same within the machine's spread.
SWITCH_INTERVAL_S = 0.05


class TaskCancelled(RuntimeError):
    """Raised by long work in `open` when Flink is cancelling its task."""


def cancelled() -> bool:
    """True when the thread running this code is a Flink task's and has been
    interrupted (Flink is cancelling the task). False outside a taskmanager (the
    embedded mini-cluster in process mode, tests), where no Java thread runs it."""
    try:
        from pemja import findClass
    except ImportError:
        return False
    try:
        return bool(findClass("java.lang.Thread").currentThread().isInterrupted())
    except Exception:   # noqa: BLE001 - not on a Java thread: nothing to ask
        return False


def check_cancelled(what: str) -> None:
    """Raise `TaskCancelled` naming `what` was stopped, when `cancelled()`."""
    if cancelled():
        raise TaskCancelled(f"{what} stopped: the task is being cancelled")


def share_the_interpreter() -> None:
    """Set the taskmanager's interpreter switch interval to SWITCH_INTERVAL_S. It is
    the whole process's, so every FEBLAM step calls this in `open`, and the setting
    does not depend on which job's step opened first."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def return_free_memory() -> None:
    """Collect garbage and hand the C allocator's free memory back to the system
    (glibc's malloc_trim; nothing where there is no glibc)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):   # not glibc
        pass
