"""What a client reads of the local stack: its var/run/stack.json.

`scripts/stack up` writes that file (feblam.stack.settings.StackSettings.save);
it is the one contract between the stack and the product's clients, which do
not import the stack's tools (jobs run on clusters FEBLAM never started). A
secured stack's file says `"secure": true` and where its client settings are
(`client_security`: the CA, each Kafka user's password file, the registry's
user and password file), never a secret itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# The default var dir of a checkout; FEBLAM_VAR_DIR moves it (as for the stack itself).
DEFAULT_VAR_DIR = Path(__file__).resolve().parents[1] / "var"


def secured_stack() -> dict | None:
    """The stack.json of the local stack (FEBLAM_VAR_DIR, else var/) when that stack
    was brought up with --secure; None when there is none, or it is not secured."""
    var_dir = Path(os.environ.get("FEBLAM_VAR_DIR") or DEFAULT_VAR_DIR).resolve()
    try:
        data = json.loads((var_dir / "run" / "stack.json").read_text())
    except (OSError, ValueError):
        return None
    if not data.get("secure") or "client_security" not in data:
        return None
    return data
