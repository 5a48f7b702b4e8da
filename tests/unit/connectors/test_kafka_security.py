"""Kafka security settings (connectors.kafka_security): where they come from, the
client configurations made of them, and the errors that name what is missing.
No broker: a stack.json in a temporary var dir stands for a secured stack."""

from __future__ import annotations

import pickle

import pytest

from connectors.kafka_clients import client_config
import os

from connectors.kafka_security import DEFAULT_STACK_USER, KafkaSecurity, KafkaSecurityError, kafka_component
from feblam.stack.settings import StackSettings

PASSWORD = "s3cret-Pa55word"
NO_ENV: dict[str, str] = {}


@pytest.fixture
def secured_stack(tmp_path, monkeypatch):
    """A secured stack's stack.json and password files in a temporary var dir, and
    FEBLAM_VAR_DIR naming it; no FEBLAM_KAFKA_* variable."""
    for name in ("FEBLAM_KAFKA_SECURITY_PROTOCOL", "FEBLAM_KAFKA_SASL_MECHANISM", "FEBLAM_KAFKA_SASL_USERNAME",
                 "FEBLAM_KAFKA_SASL_PASSWORD_FILE", "FEBLAM_KAFKA_SSL_CA_LOCATION", "FEBLAM_KAFKA_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    settings = StackSettings(kafka_port=39999, var_dir=tmp_path, secure=True)
    settings.save()
    settings.secrets_dir.mkdir()
    for user in (DEFAULT_STACK_USER, "feblam-jobs"):
        settings.kafka_password_file(user).write_text(PASSWORD + user + "\n")
    return settings


def password_file(tmp_path, text: str = PASSWORD):
    path = tmp_path / "kafka.password"
    path.write_text(text)
    return str(path)


def test_plaintext_by_default_and_nothing_added_to_a_client(tmp_path, monkeypatch):
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))  # no stack.json there
    security = KafkaSecurity.resolve("127.0.0.1:9092", environ=NO_ENV)
    assert security == KafkaSecurity()
    assert security.java_properties() == {}
    assert "security.protocol" not in client_config({"bootstrap.servers": "127.0.0.1:9092"}, security)


def test_secured_stack_gives_its_settings_to_its_own_clients(secured_stack):
    security = KafkaSecurity.resolve(secured_stack.bootstrap_servers, environ=NO_ENV)
    assert (security.protocol, security.sasl_mechanism, security.sasl_username) == \
        ("SASL_SSL", "SCRAM-SHA-512", DEFAULT_STACK_USER)
    assert security.ssl_ca_location == str(secured_stack.ca_file)
    config = client_config({"bootstrap.servers": secured_stack.bootstrap_servers})
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == DEFAULT_STACK_USER
    assert config["sasl.password"] == PASSWORD + DEFAULT_STACK_USER  # the final line break is not the password's
    assert config["ssl.ca.location"] == str(secured_stack.ca_file)


def test_another_brokers_clients_are_not_given_the_stacks_credentials(secured_stack):
    assert KafkaSecurity.resolve("kafka.example.org:9093", environ=NO_ENV).protocol == "PLAINTEXT"
    assert "sasl.password" not in client_config({"bootstrap.servers": "kafka.example.org:9093"})


def test_a_component_is_its_own_user_within_and_leaves_no_identity_behind(secured_stack):
    with kafka_component("jobs") as user:
        assert user == "feblam-jobs"
        assert client_config({"bootstrap.servers": secured_stack.bootstrap_servers})["sasl.username"] == "feblam-jobs"
        assert KafkaSecurity.resolve(None).password() == PASSWORD + "feblam-jobs"
    assert "FEBLAM_KAFKA_SASL_USERNAME" not in os.environ
    assert KafkaSecurity.resolve(None).sasl_username == DEFAULT_STACK_USER


def test_a_user_named_by_the_deployment_wins_over_the_components(secured_stack, monkeypatch):
    monkeypatch.setenv("FEBLAM_KAFKA_SASL_USERNAME", "feblam-jobs")
    with kafka_component("loaders") as user:
        assert user == "feblam-jobs" == KafkaSecurity.resolve(None).sasl_username
    assert os.environ["FEBLAM_KAFKA_SASL_USERNAME"] == "feblam-jobs"


def test_an_unknown_component_is_refused_by_name():
    with pytest.raises(KafkaSecurityError, match="no FEBLAM component 'reader'.*admin, jobs, gateway, ingest, loaders"):
        with kafka_component("reader"):
            pass


def test_a_username_picks_that_users_password_file_of_the_stack(secured_stack):
    security = KafkaSecurity.resolve(None, environ={"FEBLAM_KAFKA_SASL_USERNAME": "feblam-jobs"})
    assert security.sasl_password_file == str(secured_stack.kafka_password_file("feblam-jobs"))
    assert security.password() == PASSWORD + "feblam-jobs"


def test_environment_settings_win(tmp_path, secured_stack):
    environ = {"FEBLAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "FEBLAM_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
               "FEBLAM_KAFKA_SASL_USERNAME": "hits", "FEBLAM_KAFKA_SASL_PASSWORD_FILE": password_file(tmp_path),
               "FEBLAM_KAFKA_SSL_CA_LOCATION": "/etc/ssl/kafka-ca.pem"}
    security = KafkaSecurity.resolve("kafka.example.org:9093", environ=environ)
    assert security == KafkaSecurity("SASL_SSL", "SCRAM-SHA-256", "hits", environ["FEBLAM_KAFKA_SASL_PASSWORD_FILE"],
                                     "/etc/ssl/kafka-ca.pem", origin="the environment")
    assert security.password() == PASSWORD


def test_java_properties_for_flinks_kafka_clients(tmp_path):
    security = KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "feblam-jobs", password_file(tmp_path, 'a"b\\c'),
                             "/var/ca.pem")
    assert security.java_properties() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        # Quote and backslash escaped as JAAS wants them.
        "sasl.jaas.config": 'org.apache.kafka.common.security.scram.ScramLoginModule required '
                            'username="feblam-jobs" password="a\\"b\\\\c";',
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": "/var/ca.pem",
    }


def test_the_password_is_in_no_description_repr_or_pickle(tmp_path):
    security = KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "u", password_file(tmp_path), "/var/ca.pem")
    assert PASSWORD not in security.describe()
    assert PASSWORD not in repr(security)
    assert PASSWORD.encode() not in pickle.dumps(security)
    assert pickle.loads(pickle.dumps(security)).password() == PASSWORD


def test_sasl_without_its_settings_names_the_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))  # no stack there
    with pytest.raises(KafkaSecurityError, match="FEBLAM_KAFKA_SASL_USERNAME, FEBLAM_KAFKA_SASL_PASSWORD_FILE"):
        KafkaSecurity.resolve(None, environ={"FEBLAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                                             "FEBLAM_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"})


def test_unknown_protocol_and_mechanism_are_refused():
    with pytest.raises(KafkaSecurityError, match="FEBLAM_KAFKA_SECURITY_PROTOCOL"):
        KafkaSecurity("SASL_TLS")
    with pytest.raises(KafkaSecurityError, match="FEBLAM_KAFKA_SASL_MECHANISM"):
        KafkaSecurity("SASL_SSL", "GSSAPI", "u", "/p")


def test_a_missing_or_empty_password_file_names_the_variable_and_the_path(tmp_path):
    missing = tmp_path / "nowhere.password"
    with pytest.raises(KafkaSecurityError, match=f"{missing}.*FEBLAM_KAFKA_SASL_PASSWORD_FILE.*does not exist"):
        KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "u", str(missing)).librdkafka_config()
    with pytest.raises(KafkaSecurityError, match="is empty"):
        KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "u", password_file(tmp_path, "\n")).password()


def test_a_client_that_sets_its_own_protocol_keeps_it(secured_stack):
    config = client_config({"bootstrap.servers": secured_stack.bootstrap_servers, "security.protocol": "PLAINTEXT"})
    assert config["security.protocol"] == "PLAINTEXT"
    assert "sasl.password" not in config
