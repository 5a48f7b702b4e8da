"""The registry client of a secured local stack takes the stack's credentials and CA
(connectors.registry, through its stack.json), and only for that stack's registry."""

from __future__ import annotations

import pytest

from connectors.registry import RegistrySettings, RegistrySettingsError
from feblam.stack.settings import StackSettings


@pytest.fixture
def secured_stack(tmp_path, monkeypatch):
    for name in ("FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO", "FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO_FILE",
                 "FEBLAM_REGISTRY_SSL_CA_LOCATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEBLAM_VAR_DIR", str(tmp_path))
    settings = StackSettings(registry_port=38999, var_dir=tmp_path, secure=True)
    settings.save()
    settings.secrets_dir.mkdir()
    settings.registry_password_file.write_text("pw-of-the-stack")
    return settings


def test_the_stacks_registry_gets_its_credentials_and_ca(secured_stack):
    assert secured_stack.registry_url.startswith("https://127.0.0.1:38999/")
    settings = RegistrySettings.from_env(secured_stack.registry_url, environ={})
    assert settings.basic_auth_user_info == "feblam:pw-of-the-stack"
    assert settings.ssl_ca_location == str(secured_stack.ca_file)
    assert "pw-of-the-stack" not in repr(settings)


def test_another_registry_gets_none_of_them(secured_stack):
    settings = RegistrySettings.from_env("https://registry.example.org/apis/ccompat/v7", environ={})
    assert settings.basic_auth_user_info is None and settings.ssl_ca_location is None


def test_variables_win_over_the_stack(secured_stack, tmp_path):
    user_info = tmp_path / "user-info"
    user_info.write_text("ops:other\n")
    settings = RegistrySettings.from_env(secured_stack.registry_url,
                                         environ={"FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO_FILE": str(user_info)})
    assert settings.basic_auth_user_info == "ops:other"


def test_a_missing_user_info_file_names_the_variable_and_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(RegistrySettingsError, match=f"FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO_FILE.*{missing}"):
        RegistrySettings.from_env("https://r.example.org", environ={"FEBLAM_REGISTRY_BASIC_AUTH_USER_INFO_FILE": str(missing)})
