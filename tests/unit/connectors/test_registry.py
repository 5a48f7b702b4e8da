"""The registry façade without a registry: how answers are classified, the settings
(and that their secrets never show), and how the client copes with Apicurio's
409 on a rule created twice at the same moment."""

from __future__ import annotations

import pickle
import socket

import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError

from connectors.registry import (
    IncompatibleSchemaError,
    InvalidRequestError,
    RegistryAuthError,
    RegistryClient,
    RegistryConflictError,
    RegistryError,
    RegistrySettings,
    RegistrySettingsError,
    RegistryUnreachableError,
    SchemaNotFoundError,
    SubjectNotFoundError,
    classify,
)

URL = "http://127.0.0.1:8080/apis/ccompat/v7"
SCHEMA = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]}
RULE_EXISTS = SchemaRegistryError(409, 0, "A rule named 'COMPATIBILITY' already exists.")


@pytest.mark.parametrize(("status", "code", "kind"), [
    (409, 409, IncompatibleSchemaError),         # Confluent's and Apicurio's refusal of an incompatible schema
    (409, 0, RegistryConflictError),             # Apicurio: the rule was created by someone else meanwhile
    (404, 40401, SubjectNotFoundError),
    (404, 40402, SchemaNotFoundError),
    (404, 40403, SchemaNotFoundError),
    (401, 40101, RegistryAuthError),
    (403, 40301, RegistryAuthError),
    (422, 42201, InvalidRequestError),
    (422, 42203, InvalidRequestError),
    (503, 50301, RegistryUnreachableError),
    (504, -1, RegistryUnreachableError),
    (500, 50001, RegistryError),
])
def test_answers_are_classified_by_status_and_code(status, code, kind):
    error = classify(status, code, "what the registry said", "register a schema under s-value")
    assert type(error) is kind
    assert (error.status, error.code) == (status, code)
    assert "register a schema under s-value" in str(error) and "what the registry said" in str(error)


def test_an_incompatibility_is_not_a_conflict_and_a_conflict_is_not_an_incompatibility():
    assert not isinstance(classify(409, 0, "rule exists", "x"), IncompatibleSchemaError)
    assert not isinstance(classify(409, 409, "incompatible", "x"), RegistryConflictError)


def test_a_404_with_a_registry_code_is_what_the_call_was_looking_for():
    assert type(classify(404, 40499, "?", "fetch schema id 7", SchemaNotFoundError)) is SchemaNotFoundError
    assert type(classify(404, 40499, "?", "read a subject")) is SubjectNotFoundError


@pytest.mark.parametrize("code", [None, -1])
def test_a_404_that_no_registry_sent_is_not_a_missing_schema(code):
    """A wrong URL path answers 404 to everything: taking that for an unknown schema
    id would dead-letter every record."""
    error = classify(404, code, "Could not find resource", "fetch schema id 7", SchemaNotFoundError)
    assert type(error) is RegistryError and error.status == 404
    assert "apis/ccompat/v7" in str(error)


# -- settings ---------------------------------------------------------------------------------


def test_credentials_in_the_url_move_to_the_settings_and_never_show():
    settings = RegistrySettings.from_url("https://bob:s3cr%40t@registry.example:8443/apis/ccompat/v7",
                                         ssl_key_password="keypass")
    assert settings.url == "https://registry.example:8443/apis/ccompat/v7"
    assert settings.basic_auth_user_info == "bob:s3cr@t"
    for text in (repr(settings), str(settings), repr(RegistryClient(settings))):
        assert "s3cr" not in text and "keypass" not in text and "bob" not in text
        assert "basic_auth_user_info='***'" in text


def test_the_url_itself_may_not_carry_credentials():
    with pytest.raises(RegistrySettingsError, match="credentials"):
        RegistrySettings("https://bob:secret@registry.example/apis")


def test_credentials_twice_are_refused():
    with pytest.raises(RegistrySettingsError, match="credentials"):
        RegistrySettings.from_url("https://bob:secret@registry.example/apis", basic_auth_user_info="eve:x")


@pytest.mark.parametrize(("values", "problem"), [
    ({"url": "registry:8080"}, "http"),
    ({"url": " , "}, "empty"),
    ({"url": URL, "basic_auth_user_info": "no-colon"}, "user:password"),
    ({"url": URL, "ssl_key_location": "/k.pem"}, "certificate"),
    ({"url": URL, "timeout_s": 0}, "positive"),
    ({"url": URL, "max_retries": -1}, "negative"),
])
def test_settings_that_make_no_sense_are_refused(values, problem):
    with pytest.raises(RegistrySettingsError, match=problem):
        RegistrySettings(**values)


def test_settings_from_the_environment():
    environ = {"FEBLAM_REGISTRY_URL": "https://registry.example/apis/ccompat/v7",
               "FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO": "feblam:pw",
               "FEBLAM_REGISTRY_SSL_CA_LOCATION": "/etc/feblam/ca.pem",
               "FEBLAM_REGISTRY_TIMEOUT_S": "2.5", "FEBLAM_REGISTRY_MAX_RETRIES": "5",
               "FEBLAM_REGISTRY_SSL_KEY_LOCATION": ""}
    settings = RegistrySettings.from_env(environ=environ)
    assert settings == RegistrySettings("https://registry.example/apis/ccompat/v7", basic_auth_user_info="feblam:pw",
                                        ssl_ca_location="/etc/feblam/ca.pem", timeout_s=2.5, max_retries=5)
    # A URL given (a --registry-url option) wins over FEBLAM_REGISTRY_URL; the rest still comes from there.
    assert RegistrySettings.from_env(URL, environ).url == URL
    assert RegistrySettings.from_env(URL, environ).basic_auth_user_info == "feblam:pw"


def test_bad_numbers_and_a_missing_url_in_the_environment_are_named():
    with pytest.raises(RegistrySettingsError, match="FEBLAM_REGISTRY_TIMEOUT_S='soon'"):
        RegistrySettings.from_env(URL, {"FEBLAM_REGISTRY_TIMEOUT_S": "soon"})
    with pytest.raises(RegistrySettingsError, match="FEBLAM_REGISTRY_URL"):
        RegistrySettings.from_env(environ={})


def test_a_client_from_a_url_alone_reads_the_rest_from_the_environment(monkeypatch):
    monkeypatch.setenv("FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO", "feblam:pw")
    assert RegistryClient(URL).settings.basic_auth_user_info == "feblam:pw"


def test_library_config_names_the_librarys_properties():
    settings = RegistrySettings(URL, basic_auth_user_info="u:p", ssl_ca_location="/ca.pem", timeout_s=3, max_retries=1)
    assert settings.library_config() == {"url": URL, "timeout": 3, "max.retries": 1, "retries.wait.ms": 200,
                                         "retries.max.wait.ms": 5000, "basic.auth.user.info": "u:p",
                                         "ssl.ca.location": "/ca.pem"}


def test_an_unreadable_tls_file_is_a_settings_error_naming_the_registry():
    client = RegistryClient(RegistrySettings("https://registry.example", ssl_ca_location="/nonexistent/ca.pem"))
    with pytest.raises(RegistrySettingsError, match="registry.example"):
        client.subjects()


# -- the client --------------------------------------------------------------------------------


def test_the_client_pickles_as_its_settings_and_makes_its_connections_anew():
    client = RegistryClient(RegistrySettings(URL, timeout_s=4))
    client._client()  # an HTTP client with locks and sockets, which must not travel
    copy = pickle.loads(pickle.dumps(client))
    assert copy.settings == client.settings and copy._library is None


def test_no_answer_after_the_retries_is_unreachable():
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RegistryClient(RegistrySettings(f"http://127.0.0.1:{port}", max_retries=1, retries_wait_ms=1))
    with pytest.raises(RegistryUnreachableError, match="unreachable after 2 attempts") as raised:
        client.schema(1)
    assert raised.value.status is None


class ScriptedLibrary:
    """Stands in for confluent-kafka's client: each method answers from a script."""

    def __init__(self, **answers):
        self.answers = {name: list(values) for name, values in answers.items()}
        self.calls: list[str] = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            answer = self.answers[name].pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return call


def scripted(**answers) -> tuple[RegistryClient, ScriptedLibrary]:
    client = RegistryClient(RegistrySettings(URL))
    client._library = library = ScriptedLibrary(**answers)
    return client, library


def test_a_rule_created_meanwhile_with_the_wanted_level_is_success():
    client, library = scripted(set_compatibility=[RULE_EXISTS], get_compatibility=["BACKWARD"])
    client.set_compatibility("s-value", "backward")
    assert library.calls == ["set_compatibility", "get_compatibility"]


def test_a_rule_created_meanwhile_with_another_level_is_updated():
    client, library = scripted(set_compatibility=[RULE_EXISTS, "BACKWARD"], get_compatibility=["FULL"])
    client.set_compatibility("s-value", "BACKWARD")
    assert library.calls == ["set_compatibility", "get_compatibility", "set_compatibility"]


def test_a_rule_that_keeps_conflicting_is_reported_as_a_conflict_not_an_incompatibility():
    client, _ = scripted(set_compatibility=[RULE_EXISTS, RULE_EXISTS], get_compatibility=["FULL", "FULL"])
    with pytest.raises(RegistryConflictError, match="already exists"):
        client.set_compatibility("s-value", "BACKWARD")


def test_an_incompatible_schema_is_refused_as_such():
    client, _ = scripted(register_schema=[SchemaRegistryError(409, 409, "Incompatible artifact")])
    with pytest.raises(IncompatibleSchemaError, match="register a schema under s-value"):
        client.register("s-value", SCHEMA)


def test_a_registration_that_collides_with_another_is_settled_by_a_look_up():
    class Registered:
        schema_id = 7

    client, library = scripted(register_schema=[SchemaRegistryError(409, 40901, "concurrent modification")],
                               lookup_schema=[Registered()])
    assert client.register("s-value", SCHEMA) == 7
    assert library.calls == ["register_schema", "lookup_schema"]


def test_an_unknown_subject_is_compatible_and_has_no_versions_nor_level():
    missing = SchemaRegistryError(404, 40401, "Subject 's-value' not found.")
    client, _ = scripted(test_compatibility=[missing], get_versions=[missing], get_compatibility=[missing])
    assert client.is_compatible("s-value", SCHEMA) is True
    assert client.versions("s-value") == []
    assert client.compatibility("s-value") is None


def test_an_unknown_schema_id_is_schema_not_found_with_status_404():
    client, _ = scripted(get_schema=[SchemaRegistryError(404, 40403, "Schema 99 not found.")])
    with pytest.raises(SchemaNotFoundError) as raised:
        client.schema(99)
    assert raised.value.status == 404


def test_a_success_that_no_registry_would_send_is_a_registry_error_naming_the_url():
    """E.g. a 200 HTML page from a proxy in front of a wrong path: the library's JSON
    decoding fails; that is said as such, not as a crash inside the library."""
    client, _ = scripted(get_subjects=[ValueError("Expecting value: line 1 column 1 (char 0)")],
                         get_compatibility=[KeyError("compatibilityLevel")])
    for call in (client.subjects, lambda: client.compatibility("s-value")):
        with pytest.raises(RegistryError, match="is not a schema registry's") as raised:
            call()
        assert type(raised.value) is RegistryError
