"""The benchmark's baseline SQL join gets the security settings as table options, and a
plain cluster's tables are unchanged."""

from __future__ import annotations

import argparse

from jobs.baseline_sql_join import statements
from feblam.stack.settings import StackSettings


def _args(bootstrap: str, registry: str) -> argparse.Namespace:
    return argparse.Namespace(bootstrap_servers=bootstrap, registry_url=registry, group_id="g", reads_topic="r",
                              reference_pattern="ref", output_topic="o")


def test_a_secured_stacks_tables_authenticate(tmp_path, monkeypatch):
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    for name in ("FEBLAM_KAFKA_SECURITY_PROTOCOL", "FEBLAM_KAFKA_SASL_USERNAME", "FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO"):
        monkeypatch.delenv(name, raising=False)
    stack = StackSettings(var_dir=tmp_path, secure=True, kafka_port=39998, registry_port=38998)
    stack.save()
    stack.secrets_dir.mkdir()
    stack.kafka_password_file("feblam-admin").write_text("kafka-pw")
    stack.registry_password_file.write_text("registry-pw")
    reads, references, hits, _ = statements(_args(stack.bootstrap_servers, stack.registry_url))
    for table in (reads, references, hits):
        assert "'properties.security.protocol' = 'SASL_SSL'" in table
        assert 'ScramLoginModule required username="feblam-admin" password="kafka-pw";' in table
        assert f"'properties.ssl.truststore.location' = '{stack.ca_file}'" in table
    assert "'avro-confluent.basic-auth.user-info' = 'feblam:registry-pw'" in reads
    assert "avro-confluent" not in hits  # JSON out


def test_a_plain_clusters_tables_have_no_security_option(tmp_path, monkeypatch):
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    for ddl in statements(_args("kafka.example.org:9092", "http://registry.example.org/apis/ccompat/v7"))[:3]:
        assert "security" not in ddl and "basic-auth" not in ddl and "truststore" not in ddl
