"""The CA, certificates and passwords of a secured local stack (`stack up --secure`).

Everything is made on the first secured `up` under `StackSettings.secrets_dir`
(var/secrets/, mode 0700) and kept: a second `up` finds it and makes nothing, so
the passwords stored in Kafka's metadata at storage format time stay the ones
clients read.

  ca.pem, ca-key.pem          a CA of this stack alone (RSA 2048, 10 years);
                              clients trust ca.pem, the key signs nothing else
  server.pem, server-key.pem  the certificate of Kafka and the registry, for
                              127.0.0.1 and localhost, signed by the CA
  kafka-<user>.password       one SCRAM password per Kafka user (KAFKA_USERS)
  kafka-server.p12            the same key and chain as a PKCS#12 key store for
                              Kafka (whose PEM key store wants an encrypted key),
                              its password in kafka-keystore.password
  registry-feblam.password    the registry's basic-auth password

Keys and passwords are written with mode 0600 from the start (never readable by
others, even for a moment). `cryptography` comes with confluent-kafka's
schema-registry extra (through Authlib).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from pathlib import Path

from feblam.stack.settings import HOST, KAFKA_USERS, StackSettings

CA_DAYS = 3650
SERVER_DAYS = 825


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner alone (0600), whatever the umask;
    a file already there is replaced."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def new_password() -> str:
    # 32 bytes of randomness, URL-safe: no quote, comma, '=' or space, so the password
    # needs no escaping in SCRAM's format argument, JAAS or a properties file.
    return secrets.token_urlsafe(32)


def ensure_secrets(settings: StackSettings) -> None:
    """Make whatever of the stack's CA, server certificate and passwords is missing."""
    directory = settings.secrets_dir
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca_key_file, server_key_file, server_file = directory / "ca-key.pem", directory / "server-key.pem", directory / "server.pem"
    if not (settings.ca_file.is_file() and ca_key_file.is_file()):
        _make_ca(settings.ca_file, ca_key_file)
        server_file.unlink(missing_ok=True)  # a new CA: the old server certificate is no longer trusted
    if not (server_file.is_file() and server_key_file.is_file()):
        _make_server_certificate(settings.ca_file, ca_key_file, server_file, server_key_file)
    keystore, keystore_password = kafka_keystore(settings)
    if not (keystore.is_file() and keystore_password.is_file()):
        write_private(keystore_password, new_password())
        _make_pkcs12(server_file, server_key_file, keystore, keystore_password.read_text())
    for user in KAFKA_USERS:
        if not settings.kafka_password_file(user).is_file():
            write_private(settings.kafka_password_file(user), new_password())
    if not settings.registry_password_file.is_file():
        write_private(settings.registry_password_file, new_password())


def server_certificate(settings: StackSettings) -> tuple[Path, Path]:
    """(certificate chain, private key) of the stack's servers, PEM."""
    return settings.secrets_dir / "server.pem", settings.secrets_dir / "server-key.pem"


def kafka_keystore(settings: StackSettings) -> tuple[Path, Path]:
    """(PKCS#12 key store, the file of its password) of the Kafka broker."""
    return settings.secrets_dir / "kafka-server.p12", settings.secrets_dir / "kafka-keystore.password"


def _make_pkcs12(server_file: Path, server_key_file: Path, keystore: Path, password: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    chain = x509.load_pem_x509_certificates(server_file.read_bytes())
    key = serialization.load_pem_private_key(server_key_file.read_bytes(), password=None)
    data = pkcs12.serialize_key_and_certificates(b"kafka", key, chain[0], chain[1:],
                                                 serialization.BestAvailableEncryption(password.encode()))
    keystore.unlink(missing_ok=True)
    fd = os.open(keystore, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    # PKCS#8, unencrypted: the form Kafka's PEM key store and Quarkus both read. The
    # file's mode is its protection, as for the passwords.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _cert_pem(cert) -> str:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _make_ca(ca_file: Path, ca_key_file: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FEBLAM local stack CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(ca_key_file, _key_pem(key))
    ca_file.write_text(_cert_pem(cert))


def _make_server_certificate(ca_file: Path, ca_key_file: Path, server_file: Path, server_key_file: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert = x509.load_pem_x509_certificate(ca_file.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        # Clients verify the host name (librdkafka, Java and httpx all do by default):
        # the services are reached at 127.0.0.1, or localhost.
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(server_key_file, _key_pem(key))
    # The chain, server first: what Kafka's PEM key store and Quarkus present.
    server_file.write_text(_cert_pem(cert) + _cert_pem(ca_cert))
