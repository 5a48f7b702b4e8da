"""How FEBLAM's Kafka clients authenticate and encrypt: one typed setting, two forms.

`KafkaSecurity` holds the security settings of a Kafka client: the protocol
(PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), the SASL mechanism, user name and
the *file* that holds the password, and the CA file that verifies the broker's
certificate. It never holds the password itself: `password()` reads the file
when a client is built, so a setting can be printed, pickled into a Flink job
or logged without giving the secret away.

Where the settings come from (`KafkaSecurity.resolve`), each later one winning:

1. nothing: PLAINTEXT;
2. the local stack, when `scripts/stack up --secure` secured it (its
   var/run/stack.json says so) and the client talks to that stack's broker:
   SASL_SSL, SCRAM-SHA-512, user FEBLAM_KAFKA_SASL_USERNAME (feblam-admin when
   unset) with that user's password file of the stack, the stack's CA;
3. the environment: FEBLAM_KAFKA_SECURITY_PROTOCOL, FEBLAM_KAFKA_SASL_MECHANISM,
   FEBLAM_KAFKA_SASL_USERNAME, FEBLAM_KAFKA_SASL_PASSWORD_FILE,
   FEBLAM_KAFKA_SSL_CA_LOCATION; unset or empty ones keep what 1-2 gave.

`librdkafka_config()` is the form of confluent-kafka clients (connectors.
kafka_clients.client_config applies it to every one), `java_properties()` the
form of the Java clients inside Flink's Kafka source and sink. Both include the
password (read from the file): they are handed to a client, never printed.

Each FEBLAM component is its own Kafka user (`COMPONENT_USERS`): the hit job
feblam-jobs, the gateway feblam-gateway, read ingest feblam-ingest, the
reference loaders feblam-loaders, operators' tools feblam-admin. A component's
entry point (its job's `main`, its `feblam` command) runs inside
`kafka_component(name)`, which names that user in FEBLAM_KAFKA_SASL_USERNAME
unless the variable names one already: a deployment that sets it per component
wins, and the secured local stack, which creates every one of these users, gets
one user per component with no setting at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from connectors.secret_files import read_secret

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
ENV = {
    "protocol": "FEBLAM_KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "FEBLAM_KAFKA_SASL_MECHANISM",
    "sasl_username": "FEBLAM_KAFKA_SASL_USERNAME",
    "sasl_password_file": "FEBLAM_KAFKA_SASL_PASSWORD_FILE",
    "ssl_ca_location": "FEBLAM_KAFKA_SSL_CA_LOCATION",
}
# The Kafka user of each FEBLAM component (see the module's docstring).
COMPONENT_USERS = {
    "admin": "feblam-admin",
    "jobs": "feblam-jobs",
    "gateway": "feblam-gateway",
    "ingest": "feblam-ingest",
    "loaders": "feblam-loaders",
}
# The user a client of the secured local stack is when FEBLAM_KAFKA_SASL_USERNAME names none.
DEFAULT_STACK_USER = COMPONENT_USERS["admin"]

_LOGIN_MODULES = {
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
}


class KafkaSecurityError(ValueError):
    """The Kafka security settings are incomplete or name a file that cannot be read."""


@dataclass(frozen=True)
class KafkaSecurity:
    """Security settings of one Kafka client (see the module's docstring).

    `origin` says where the settings came from ("defaults", "the local stack",
    "the environment"), for messages only."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password_file: str | None = None
    ssl_ca_location: str | None = None
    origin: str = "defaults"

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise KafkaSecurityError(f"Kafka security protocol {self.protocol!r} ({ENV['protocol']}) is not one of "
                                     f"{', '.join(PROTOCOLS)}")
        if self.sasl:
            missing = [ENV[name] for name in ("sasl_mechanism", "sasl_username", "sasl_password_file")
                       if not getattr(self, name)]
            if missing:
                raise KafkaSecurityError(f"Kafka security protocol {self.protocol} (from {self.origin}) needs "
                                         f"{', '.join(missing)}")
            if self.sasl_mechanism not in MECHANISMS:
                raise KafkaSecurityError(f"SASL mechanism {self.sasl_mechanism!r} ({ENV['sasl_mechanism']}) is not one "
                                         f"of {', '.join(MECHANISMS)}")

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def describe(self) -> str:
        """One line for a person: protocol, mechanism, user and files, no secret."""
        parts = [self.protocol]
        if self.sasl:
            parts.append(f"{self.sasl_mechanism} as {self.sasl_username} (password in {self.sasl_password_file})")
        if self.tls and self.ssl_ca_location:
            parts.append(f"CA {self.ssl_ca_location}")
        return ", ".join(parts) + f" [from {self.origin}]"

    def password(self) -> str:
        """The SASL password: the password file's content without a final line break."""
        path = Path(self.sasl_password_file or "")
        where = f"the Kafka password file {path} ({ENV['sasl_password_file']}, from {self.origin})"
        return read_secret(path, where, KafkaSecurityError)

    def librdkafka_config(self) -> dict[str, str]:
        """The settings as confluent-kafka (librdkafka) configuration, password included."""
        config = {"security.protocol": self.protocol}
        if self.sasl:
            config.update({"sasl.mechanisms": self.sasl_mechanism, "sasl.username": self.sasl_username,
                           "sasl.password": self.password()})
        if self.tls and self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        return config

    def java_properties(self, kafka_package: str = "org.apache.kafka") -> dict[str, str]:
        """The settings as Java Kafka client properties, password included in
        `sasl.jaas.config`. Empty for PLAINTEXT, so a plain job's properties are
        unchanged. `kafka_package` is where the Kafka client's classes are: a
        connector that relocates them (flink-sql-connector-kafka puts them under
        org.apache.flink.kafka.shaded.org.apache.kafka) finds the JAAS login module
        there alone."""
        if self.protocol == "PLAINTEXT":
            return {}
        properties = {"security.protocol": self.protocol}
        if self.sasl:
            properties["sasl.mechanism"] = self.sasl_mechanism
            module = _LOGIN_MODULES[self.sasl_mechanism].replace("org.apache.kafka", kafka_package, 1)
            properties["sasl.jaas.config"] = (f'{module} required '
                                              f'username="{_jaas_quoted(self.sasl_username)}" '
                                              f'password="{_jaas_quoted(self.password())}";')
        if self.tls and self.ssl_ca_location:
            properties["ssl.truststore.type"] = "PEM"
            properties["ssl.truststore.location"] = self.ssl_ca_location
        return properties

    def with_env(self, environ: Mapping[str, str] | None = None) -> "KafkaSecurity":
        """These settings with every FEBLAM_KAFKA_* security variable that is set in place
        of the value it names."""
        environ = os.environ if environ is None else environ
        given = {name: environ[var] for name, var in ENV.items() if environ.get(var)}
        if not given:
            return self
        return replace(self, **given, origin="the environment" if self.origin == "defaults"
                       else f"{self.origin} and the environment")

    @classmethod
    def resolve(cls, bootstrap_servers: str | None = None,
                environ: Mapping[str, str] | None = None) -> "KafkaSecurity":
        """The settings of a client of `bootstrap_servers` (None: of the local stack's
        broker): the local stack's when it is secured and these are its servers, then
        the FEBLAM_KAFKA_* variables over them (see the module's docstring)."""
        environ = os.environ if environ is None else environ
        return (_stack_security(bootstrap_servers, environ) or cls()).with_env(environ)


@contextmanager
def kafka_component(name: str) -> Iterator[str]:
    """Within: this process's Kafka clients authenticate as component `name`'s user
    (`COMPONENT_USERS`), unless FEBLAM_KAFKA_SASL_USERNAME already names a user, which
    then stays. Yields the user in force. The variable is restored on exit, so a command
    run inside another process (a test's) leaves no identity behind; a Kafka source or
    sink built within keeps the user it was built with."""
    if name not in COMPONENT_USERS:
        raise KafkaSecurityError(f"no FEBLAM component {name!r}: one of {', '.join(COMPONENT_USERS)}")
    variable = ENV["sasl_username"]
    given = os.environ.get(variable)
    if given:
        yield given
        return
    os.environ[variable] = COMPONENT_USERS[name]
    try:
        yield COMPONENT_USERS[name]
    finally:
        if given is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = given


def _jaas_quoted(value: str) -> str:
    # A JAAS option value is a quoted string in which \ escapes the next character.
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _same_servers(a: str, b: str) -> bool:
    def servers(text: str) -> set[str]:
        return {part.strip().replace("localhost:", "127.0.0.1:") for part in text.split(",") if part.strip()}
    return servers(a) == servers(b)


def _stack_security(bootstrap_servers: str | None, environ: Mapping[str, str]) -> KafkaSecurity | None:
    """The settings of a client of the local stack, if it is secured and is what
    `bootstrap_servers` names: a client of another broker is not handed the local
    stack's credentials."""
    from connectors.local_stack import secured_stack

    stack = secured_stack()
    if stack is None:
        return None
    if bootstrap_servers is not None and not _same_servers(bootstrap_servers, stack["bootstrap_servers"]):
        return None
    kafka = stack["client_security"]["kafka"]
    user = environ.get(ENV["sasl_username"]) or DEFAULT_STACK_USER
    password_file = kafka["users"].get(user) or str(Path(kafka["users"][DEFAULT_STACK_USER]).with_name(
        f"kafka-{user}.password"))
    return KafkaSecurity(kafka["security_protocol"], kafka["sasl_mechanism"], user, password_file,
                         kafka["ssl_ca_location"], origin=f"the local stack ({stack['var_dir']}/run/stack.json)")
