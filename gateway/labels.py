"""The labels a hit is routed on (spec §2).

``hit_labels(hit, camera, list_owners)`` gives text labels, as Alertmanager's
are: a label with no value is left out, and a matcher reads it as ''.
"""

from __future__ import annotations

from typing import Any, Mapping

LABELS = ("list_name", "match_kind", "priority", "score", "zone", "camera_id",
          "police_zone", "province", "country", "owner", "covert")


def hit_labels(hit: Mapping[str, Any], camera: Mapping[str, Any] | None,
               list_owners: Mapping[str, str]) -> dict[str, str]:
    """The labels of ``hit``; ``camera`` is its camera's registry record, None when unknown.

    ``owner`` is the entry's ``attributes.owner``, else the list's owner in the
    configuration; ``covert`` is ``"true"`` exactly when the entry's
    ``attributes.covert`` is ``"true"``.
    """
    attributes = hit.get("attributes") or {}
    labels = {
        "list_name": hit.get("list_name"),
        "match_kind": hit.get("match_kind"),
        "priority": hit.get("priority"),
        "score": None if hit.get("score") is None else str(hit["score"]),
        "zone": hit.get("zone"),
        "camera_id": hit.get("camera_id"),
        "police_zone": camera.get("police_zone") if camera else None,
        "province": camera.get("province") if camera else None,
        "country": hit.get("country"),
        "owner": attributes.get("owner") or list_owners.get(hit.get("list_name") or ""),
        "covert": "true" if attributes.get("covert") == "true" else "false",
    }
    return {name: str(value) for name, value in labels.items() if value not in (None, "")}
