"""A small client for the Confluent-compatible schema registry API (Apicurio's
`/apis/ccompat/v7`, or Confluent's own).

Only what FEBLAM's feeds need: register a schema under a subject, set a
subject's compatibility, test a candidate schema, and fetch a writer schema by
id. Schemas by id never change, so they are cached for the life of the client:
the per-record path never makes a network call once an id has been seen.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import requests

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(RuntimeError):
    """The registry refused a request or could not be reached; carries the HTTP status."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class IncompatibleSchemaError(RegistryError):
    """The registry refused a schema as incompatible with the subject's history."""


@dataclass
class RegistryClient:
    url: str
    timeout_s: float = 10.0
    _by_id: dict[int, dict] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    def _call(self, method: str, path: str, body: dict | None = None) -> dict | list:
        try:
            response = self._session.request(
                method,
                f"{self.url.rstrip('/')}{path}",
                data=None if body is None else json.dumps(body),
                headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
                timeout=self.timeout_s,
            )
        except requests.RequestException as error:
            raise RegistryError(f"schema registry {self.url} unreachable: {error}") from error
        if response.status_code >= 400:
            detail = response.text[:500]
            if response.status_code == 409:
                raise IncompatibleSchemaError(f"{method} {path} refused as incompatible: {detail}", 409)
            raise RegistryError(f"{method} {path} failed with HTTP {response.status_code}: {detail}", response.status_code)
        return response.json() if response.content else {}

    def register(self, subject: str, schema: dict) -> int:
        """Register `schema` under `subject` (idempotent) and return its global id."""
        result = self._call("POST", f"/subjects/{subject}/versions", {"schema": json.dumps(schema), "schemaType": "AVRO"})
        schema_id = int(result["id"])
        with self._lock:
            self._by_id.setdefault(schema_id, schema)
        return schema_id

    def set_compatibility(self, subject: str, level: str) -> None:
        """Set the subject's compatibility rule, e.g. "BACKWARD"."""
        self._call("PUT", f"/config/{subject}", {"compatibility": level})

    def is_compatible(self, subject: str, schema: dict) -> bool:
        """Whether `schema` may be registered as the subject's next version."""
        result = self._call(
            "POST", f"/compatibility/subjects/{subject}/versions/latest", {"schema": json.dumps(schema), "schemaType": "AVRO"}
        )
        return bool(result.get("is_compatible"))

    def schema(self, schema_id: int) -> dict:
        """The writer schema with this id; fetched once, then served from the cache."""
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        result = self._call("GET", f"/schemas/ids/{schema_id}")
        schema = json.loads(result["schema"])
        with self._lock:
            self._by_id[schema_id] = schema
        return schema

    def subjects(self) -> list[str]:
        return list(self._call("GET", "/subjects"))
