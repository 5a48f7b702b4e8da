"""The failures a user of the `feblam` CLI meets, each with the one line that explains it.

A command raises ``CommandError`` (or a subclass) for a problem the user can act
on: `feblam` prints its message on one line, prefixed with the command, and exits
with its ``exit_code``. Anything else is a bug or a surprise: it is shown on one
line too, with the hint to rerun with ``--debug`` for the trace.
"""

from __future__ import annotations


class CommandError(Exception):
    """A failure the user can act on; ``str(error)`` is the whole explanation."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class Unreachable(CommandError):
    """A service of the stack does not answer at the address the command was given."""

    def __init__(self, service: str, address: str, option: str, cause: str = "") -> None:
        because = f" ({cause})" if cause else ""
        super().__init__(f"no {service} answers at {address}{because}: start the local stack with "
                         f"`scripts/stack up`, or give {option}")
        self.service, self.address, self.option = service, address, option
