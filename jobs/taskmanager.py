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
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc


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


def return_free_memory() -> None:
    """Collect garbage and hand the C allocator's free memory back to the system
    (glibc's malloc_trim; nothing where there is no glibc)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):   # not glibc
        pass
