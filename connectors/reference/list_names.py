"""Which list a reference load may write to.

The hit job treats every topic `<prefix><name>` as a live list, so a typo in a
list's name (`stolen_vehicle` for `stolen_vehicles`) would create a new alert
list that the running job picks up. A load therefore names a *known* list: one
the job's configuration declares, one the mapping file has a feed for, or one
already published on Kafka. Creating a list is a separate, explicit act
(`new_list=True`, the CLI's `--new-list`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

# Kafka's topic alphabet, so that <prefix><name> is a topic name.
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


class UnknownList(ValueError):
    """The load names no known list; the message suggests the closest known names."""


def check_list_name(name: str, known: Iterable[str], new_list: bool = False) -> None:
    """Raise `UnknownList` unless `name` is in `known` or `new_list` asks to create it.

    A name with characters a Kafka topic cannot hold is refused even with `new_list`."""
    if not _NAME.match(name):
        raise UnknownList(f"list name {name!r}: use letters, digits, '.', '_' or '-' (it becomes a Kafka topic)")
    known = sorted(set(known))
    if name in known or new_list:
        return
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise UnknownList(f"no list {name!r} is configured, mapped or published; {hint}"
                      f"known lists: {', '.join(known) or 'none'}. To create a new list on purpose, "
                      f"add --new-list")
