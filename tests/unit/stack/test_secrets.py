"""A secured stack's CA, certificate and passwords (feblam.stack.secrets): made once,
private from the start, and what Kafka and the clients need of them."""

from __future__ import annotations

import ipaddress
import json

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from feblam.stack.secrets import ensure_secrets, kafka_keystore, server_certificate
from feblam.stack.settings import KAFKA_USERS, StackSettings


def test_secrets_are_made_once_and_are_the_owners_alone(tmp_path):
    settings = StackSettings(var_dir=tmp_path, secure=True)
    ensure_secrets(settings)
    assert settings.secrets_dir.stat().st_mode & 0o777 == 0o700
    made = {path.name: path.read_bytes() for path in settings.secrets_dir.iterdir()}
    for name in made:
        if name not in ("ca.pem", "server.pem"):  # certificates are public
            assert (settings.secrets_dir / name).stat().st_mode & 0o777 == 0o600, name
    passwords = [settings.kafka_password_file(user).read_text() for user in KAFKA_USERS]
    assert len(set(passwords)) == len(KAFKA_USERS) and all(len(p) >= 40 and "\n" not in p for p in passwords)

    ensure_secrets(settings)  # a second `up`: nothing changes, or Kafka's SCRAM users would no longer match
    assert {path.name: path.read_bytes() for path in settings.secrets_dir.iterdir()} == made


def test_the_server_certificate_is_for_loopback_and_signed_by_the_ca(tmp_path):
    settings = StackSettings(var_dir=tmp_path, secure=True)
    ensure_secrets(settings)
    certificate_file, _ = server_certificate(settings)
    server, ca = x509.load_pem_x509_certificates(certificate_file.read_bytes())
    assert ca == x509.load_pem_x509_certificate(settings.ca_file.read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    keystore, password_file = kafka_keystore(settings)
    key, certificate, _ = pkcs12.load_key_and_certificates(keystore.read_bytes(), password_file.read_text().encode())
    assert key is not None and certificate == server


def test_stack_json_remembers_security_and_says_where_the_settings_are(tmp_path):
    settings = StackSettings(var_dir=tmp_path, secure=True, registry_port=18443)
    settings.save()
    assert StackSettings.load(tmp_path).secure is True
    assert settings.registry_url == "https://127.0.0.1:18443/apis/ccompat/v7"
    data = json.loads(settings.state_file.read_text())
    assert data["secure"] is True
    assert data["client_security"]["kafka"]["users"]["feblam-jobs"] == str(settings.kafka_password_file("feblam-jobs"))
    assert data["client_security"]["registry"]["ssl_ca_location"] == str(settings.ca_file)
    plain = StackSettings(var_dir=tmp_path / "plain")
    plain.save()
    assert "client_security" not in json.loads(plain.state_file.read_text())
    assert plain.registry_url.startswith("http://")
