"""The schema registry as FEBLAM uses it (Apicurio's Confluent-compatible API
`/apis/ccompat/v7`, or Confluent's own), through confluent-kafka's
`SchemaRegistryClient`: retries with backoff on timeouts and 5xx answers,
basic auth, TLS, and caches of schemas by id and of registrations and look-ups
by (subject, schema), so the per-record path never makes a network call once an
id has been seen.

`RegistryClient` keeps the few calls FEBLAM makes, and turns the library's
`SchemaRegistryError` and transport errors into typed errors that say what
happened (`classify`): a schema refused as incompatible, a subject or schema id
the registry does not know, a registry that could not be reached, credentials
refused. `RegistrySettings` says where the registry is and how to talk to it;
`RegistryClient(url)` takes the rest of the settings from FEBLAM_REGISTRY_*
environment variables, so code that only knows a URL (a Flink operator's
`open`) still authenticates.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from urllib.parse import unquote, urlsplit, urlunsplit

from connectors.secret_files import read_secret

ENV_PREFIX = "FEBLAM_REGISTRY_"
COMPATIBILITY_LEVELS = ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
                        "FULL", "FULL_TRANSITIVE", "NONE")

# Registry error codes of the Confluent API (Apicurio's ccompat answers the same ones).
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
INCOMPATIBLE_SCHEMA = 409
INVALID_SCHEMA = 42201
# HTTP statuses the library retries (with backoff) before giving up: once it has,
# the registry is as good as unreachable.
UNAVAILABLE_STATUSES = (408, 429, 502, 503, 504)


class RegistryError(RuntimeError):
    """The registry refused a request or could not be reached. `status` is the HTTP
    status (None when there was no answer), `code` the registry's error code."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class RegistrySettingsError(RegistryError, ValueError):
    """The registry settings do not make sense (a bad URL, number or TLS file)."""


class RegistryUnreachableError(RegistryError):
    """No answer (connection refused, TLS failure, time-out), or only 'unavailable'
    answers, after every retry."""


class RegistryAuthError(RegistryError):
    """The registry refused the credentials (HTTP 401) or the operation (403)."""


class NotFoundError(RegistryError):
    """The registry answered that what was asked for does not exist (HTTP 404)."""


class SubjectNotFoundError(NotFoundError):
    """No such subject."""


class SchemaNotFoundError(NotFoundError):
    """No schema with this id, or no version of the subject matching the schema."""


class IncompatibleSchemaError(RegistryError):
    """The registry refused a schema as incompatible with the subject's history."""


class InvalidRequestError(RegistryError):
    """The registry refused the request as malformed (HTTP 422): a schema it cannot
    parse, an unknown compatibility level."""


class RegistryConflictError(RegistryError):
    """HTTP 409 that is not an incompatibility, e.g. Apicurio's "A rule named
    'COMPATIBILITY' already exists" when two processes create a subject's rule
    at the same moment."""


# -- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrySettings:
    """Where the registry is and how to talk to it.

    `url` may list several registry URLs, comma-separated (tried in turn); it
    never carries credentials (`from_url` moves them to `basic_auth_user_info`),
    so it is safe to print. `basic_auth_user_info` ("user:password") and
    `ssl_key_password` are secrets: they are in no repr, message or log.
    TLS: `ssl_ca_location` (a CA file or directory) verifies the registry's
    certificate, else the system's CAs do; `ssl_certificate_location` and
    `ssl_key_location` (PEM) are the client's own, for mutual TLS.
    Each request waits at most `timeout_s`; a time-out, a refused connection or a
    408/429/502/503/504 answer is retried `max_retries` times with jittered
    exponential backoff from `retries_wait_ms` up to `retries_max_wait_ms`.
    """

    url: str
    basic_auth_user_info: str | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: str | None = None
    timeout_s: float = 10.0
    max_retries: int = 3
    retries_wait_ms: int = 200
    retries_max_wait_ms: int = 5_000

    SECRETS = ("basic_auth_user_info", "ssl_key_password")

    def __post_init__(self) -> None:
        urls = [part.strip() for part in self.url.split(",") if part.strip()]
        if not urls:
            raise RegistrySettingsError("the schema registry URL is empty")
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise RegistrySettingsError(f"schema registry URL {_without_userinfo(url)!r} is not http(s)://host...")
            if parts.username is not None or parts.password is not None:
                raise RegistrySettingsError(
                    "the schema registry URL carries credentials: give them as basic_auth_user_info "
                    f"({ENV_PREFIX}BASIC_AUTH_USER_INFO) or build the settings with RegistrySettings.from_url")
        if self.basic_auth_user_info is not None and ":" not in self.basic_auth_user_info:
            raise RegistrySettingsError("basic auth user info must be user:password")
        if self.ssl_key_location and not self.ssl_certificate_location:
            raise RegistrySettingsError("a TLS client key (ssl_key_location) needs its certificate "
                                        "(ssl_certificate_location)")
        if not self.timeout_s > 0:
            raise RegistrySettingsError(f"timeout_s={self.timeout_s} must be positive")
        if self.max_retries < 0 or self.retries_wait_ms < 0 or self.retries_max_wait_ms < 0:
            raise RegistrySettingsError("max_retries, retries_wait_ms and retries_max_wait_ms must not be negative")

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in self.SECRETS:
                value = None if value is None else "***"
            if value is not None and (value != item.default or item.name == "url"):
                shown.append(f"{item.name}={value!r}")
        return f"RegistrySettings({', '.join(shown)})"

    __str__ = __repr__

    @classmethod
    def from_url(cls, url: str, **settings) -> "RegistrySettings":
        """Settings for `url`; credentials in it (https://user:password@host/...) become
        `basic_auth_user_info`, and the URL is kept without them."""
        urls, found = [], []
        for part in (p.strip() for p in url.split(",") if p.strip()):
            split = urlsplit(part)
            if split.username is not None or split.password is not None:
                found.append(f"{unquote(split.username or '')}:{unquote(split.password or '')}")
            urls.append(_without_userinfo(part))
        if found:
            if settings.get("basic_auth_user_info") or len(set(found)) > 1:
                raise RegistrySettingsError("the schema registry URL carries credentials and others were given too")
            settings["basic_auth_user_info"] = found[0]
        return cls(",".join(urls), **settings)

    @classmethod
    def from_env(cls, url: str | None = None, environ: Mapping[str, str] | None = None) -> "RegistrySettings":
        """Settings from FEBLAM_REGISTRY_* variables: URL (unless `url` is given),
        BASIC_AUTH_USER_INFO (or BASIC_AUTH_USER_INFO_FILE, a file holding
        user:password), SSL_CA_LOCATION, SSL_CERTIFICATE_LOCATION,
        SSL_KEY_LOCATION, SSL_KEY_PASSWORD, TIMEOUT_S, MAX_RETRIES, RETRIES_WAIT_MS,
        RETRIES_MAX_WAIT_MS. Unset or empty variables keep the defaults; when the URL
        is the registry of the local stack and `scripts/stack up --secure` secured
        it, the defaults of the credentials and CA are the stack's."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for item in fields(cls):
            raw = environ.get(ENV_PREFIX + item.name.upper())
            if item.name == "url" or raw is None or raw == "":
                continue
            if item.type in ("float", float):
                values[item.name] = _number(item.name, raw, float)
            elif item.type in ("int", int):
                values[item.name] = _number(item.name, raw, int)
            else:
                values[item.name] = raw
        url = url or environ.get(ENV_PREFIX + "URL")
        if not url:
            raise RegistrySettingsError(f"no schema registry URL: give one or set {ENV_PREFIX}URL")
        user_info_file = environ.get(ENV_PREFIX + "BASIC_AUTH_USER_INFO_FILE")
        if user_info_file and "basic_auth_user_info" not in values:
            values["basic_auth_user_info"] = _read_secret(user_info_file, ENV_PREFIX + "BASIC_AUTH_USER_INFO_FILE")
        for name, value in _stack_defaults(url).items():
            values.setdefault(name, value)
        return cls.from_url(url, **values)

    def library_config(self) -> dict:
        """The configuration of confluent-kafka's SchemaRegistryClient (secrets included)."""
        config = {"url": self.url, "timeout": self.timeout_s, "max.retries": self.max_retries,
                  "retries.wait.ms": self.retries_wait_ms, "retries.max.wait.ms": self.retries_max_wait_ms}
        optional = {"basic.auth.user.info": self.basic_auth_user_info, "ssl.ca.location": self.ssl_ca_location,
                    "ssl.certificate.location": self.ssl_certificate_location,
                    "ssl.key.location": self.ssl_key_location, "ssl.key.password": self.ssl_key_password}
        config.update({key: value for key, value in optional.items() if value})
        return config


def _read_secret(path: str, variable: str) -> str:
    return read_secret(path, f"{variable}: the file {path}", RegistrySettingsError)


def _stack_defaults(url: str) -> dict:
    """The credentials and CA of the secured local stack when `url` is its registry;
    nothing otherwise (another registry is never sent the local stack's password)."""
    from connectors.local_stack import secured_stack

    stack = secured_stack()
    if stack is None:
        return {}
    ours = urlsplit(stack["schema_registry_url"])
    if not all(urlsplit(part.strip())[:2] == ours[:2] for part in url.split(",") if part.strip()):
        return {}
    registry = stack["client_security"]["registry"]
    password = _read_secret(registry["password_file"], "the local stack's registry password file")
    return {"basic_auth_user_info": f"{registry['user']}:{password}", "ssl_ca_location": registry["ssl_ca_location"]}


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _number(name: str, raw: str, kind: type):
    try:
        return kind(raw)
    except ValueError:
        raise RegistrySettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from None


# -- errors ---------------------------------------------------------------------------------


def classify(status: int | None, code: int | None, message: str, doing: str,
             missing: type[NotFoundError] = SubjectNotFoundError) -> RegistryError:
    """The typed error for a registry answer: HTTP `status`, registry error `code`,
    the registry's `message`, while `doing` (e.g. "register a schema under X").
    A 404 is `missing` unless its code names what is missing; a 404 without a
    registry error code is no registry's answer (a wrong URL path) and stays a
    plain RegistryError, so that it is never taken for a missing schema."""
    text = f"{doing}: {message} (HTTP {status}, registry error code {code})"
    if status == 404:
        if code == SUBJECT_NOT_FOUND:
            return SubjectNotFoundError(text, status, code)
        if code in (VERSION_NOT_FOUND, SCHEMA_NOT_FOUND):
            return SchemaNotFoundError(text, status, code)
        if code is None or code < 0:
            return RegistryError(f"{doing}: HTTP 404 that is not a schema registry's answer "
                                 f"(is the URL the registry API's, e.g. .../apis/ccompat/v7?): {message}", status, code)
        return missing(text, status, code)
    if status == 409:
        if code == INCOMPATIBLE_SCHEMA:
            return IncompatibleSchemaError(text, status, code)
        return RegistryConflictError(text, status, code)
    if status in (401, 403):
        return RegistryAuthError(text, status, code)
    if status == 422:
        return InvalidRequestError(text, status, code)
    if status in UNAVAILABLE_STATUSES:
        return RegistryUnreachableError(f"{text}, after every retry", status, code)
    return RegistryError(text, status, code)


# -- the client -----------------------------------------------------------------------------


class RegistryClient:
    """FEBLAM's calls to the registry. Build it from `RegistrySettings` or from a URL
    alone (then FEBLAM_REGISTRY_* variables give the rest, see `RegistrySettings.from_env`).

    Cheap to create (the HTTP client is made on first use) and picklable (only
    the settings travel; caches start empty). Thread-safe, as the library's
    client is. Every method raises the typed errors of this module.
    """

    def __init__(self, settings: RegistrySettings | str):
        self.settings = settings if isinstance(settings, RegistrySettings) else RegistrySettings.from_env(settings)
        self._library = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.settings.url

    def __repr__(self) -> str:
        return f"RegistryClient({self.settings!r})"

    def __getstate__(self) -> dict:
        return {"settings": self.settings}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["settings"])

    def close(self) -> None:
        """Close the HTTP connections; the client opens new ones if used again."""
        with self._lock:
            library, self._library = self._library, None
        if library is not None:
            library.close()

    def _client(self):
        if self._library is None:
            with self._lock:
                if self._library is None:
                    from confluent_kafka.schema_registry import SchemaRegistryClient

                    try:
                        self._library = SchemaRegistryClient(self.settings.library_config())
                    except (OSError, ValueError) as error:  # unreadable TLS files, a bad key password
                        raise RegistrySettingsError(f"schema registry {self.url}: {error}") from error
        return self._library

    @contextmanager
    def _calling(self, doing: str, missing: type[NotFoundError] = SubjectNotFoundError) -> Iterator[None]:
        from confluent_kafka.schema_registry.common._httpx_compat import httpx  # the library's own httpx
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        try:
            yield
        except SchemaRegistryError as error:
            raise classify(error.http_status_code, error.error_code, error.error_message,
                           f"{doing} at {self.url}", missing) from error
        except httpx.TransportError as error:
            raise RegistryUnreachableError(
                f"{doing}: schema registry {self.url} unreachable after {self.settings.max_retries + 1} "
                f"attempts: {type(error).__name__}: {error}") from error
        except RegistryError:
            raise  # already said (settings the client could not be made with)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            # A success status with a body no registry sends (an HTML page, a proxy's
            # answer), or a redirect loop: the URL is not the registry API's.
            raise RegistryError(f"{doing}: the answer of {self.url} is not a schema registry's "
                                f"(is the URL the registry API's, e.g. .../apis/ccompat/v7?): "
                                f"{type(error).__name__}: {error}") from error

    # -- schemas ------------------------------------------------------------------------

    def register(self, subject: str, schema: dict) -> int:
        """Register `schema` under `subject` and return its global id. Idempotent: a schema
        the subject already has keeps its id. Never sets a rule. Raises
        IncompatibleSchemaError when the subject's compatibility rule refuses it."""
        candidate = _avro(schema)
        try:
            with self._calling(f"register a schema under {subject}"):
                return int(self._client().register_schema(subject, candidate))
        except RegistryConflictError:
            # A 409 that is no incompatibility: a write that collided with another
            # process's. Whatever the registry holds now decides.
            return self.lookup(subject, schema)

    def lookup(self, subject: str, schema: dict) -> int:
        """The id of `schema` as a version of `subject`, without registering anything.
        Raises SubjectNotFoundError (no such subject) or SchemaNotFoundError (the
        subject has no version matching the schema)."""
        candidate = _avro(schema)
        with self._calling(f"look up a schema under {subject}", SchemaNotFoundError):
            return int(self._client().lookup_schema(subject, candidate).schema_id)

    def schema(self, schema_id: int) -> dict:
        """The schema with this global id; fetched once, then from the library's cache.
        Raises SchemaNotFoundError for an id the registry does not know."""
        with self._calling(f"fetch schema id {schema_id}", SchemaNotFoundError):
            return json.loads(self._client().get_schema(schema_id).schema_str)

    def subjects(self) -> list[str]:
        with self._calling("list subjects"):
            return list(self._client().get_subjects())

    def versions(self, subject: str) -> list[int]:
        """The subject's version numbers, oldest first; [] for an unknown subject."""
        try:
            with self._calling(f"list the versions of {subject}"):
                return sorted(self._client().get_versions(subject))
        except SubjectNotFoundError:
            return []

    def is_compatible(self, subject: str, schema: dict) -> bool:
        """Whether `schema` may be registered as the subject's next version under its
        rule (True for a subject with no version yet: nothing to break)."""
        candidate = _avro(schema)
        try:
            with self._calling(f"test a schema against {subject}", SchemaNotFoundError):
                return bool(self._client().test_compatibility(subject, candidate))
        except NotFoundError:
            return True

    # -- compatibility rules ------------------------------------------------------------

    def compatibility(self, subject: str) -> str | None:
        """The subject's compatibility level (Apicurio answers the global one for a
        subject without a rule of its own), or None for a subject the registry has
        neither a version nor a rule for."""
        try:
            with self._calling(f"read the compatibility of {subject}"):
                return self._client().get_compatibility(subject)
        except NotFoundError:
            return None

    def set_compatibility(self, subject: str, level: str) -> None:
        """Set the subject's compatibility rule, e.g. "BACKWARD". Setting the level it
        already has succeeds, even when another process creates the rule at the
        same moment (Apicurio then answers 409 "rule already exists")."""
        level = level.upper()
        for attempt in range(2):
            try:
                with self._calling(f"set compatibility {level} on {subject}"):
                    self._client().set_compatibility(subject, level)
                return
            except RegistryConflictError:
                if self.compatibility(subject) == level:
                    return
                if attempt:
                    raise
                # The rule exists now with another level: a second PUT updates it.


def _avro(schema: dict):
    from confluent_kafka.schema_registry import Schema

    return Schema(json.dumps(schema), "AVRO")
