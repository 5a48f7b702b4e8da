"""Fail fast, in one line, when a service a command needs does not answer.

A command calls `require_kafka`, `require_registry` or `require_flink` before it
acts. Each asks the service one cheap question with a timeout of a few seconds
and raises `feblam.errors.Unreachable`, naming the address and the option that
sets it, when there is no answer: a user with no stack up learns that in seconds,
instead of from a minute of client retries and a trace.
"""

from __future__ import annotations

import requests

from feblam.errors import Unreachable

TIMEOUT_S = 5.0


def _why(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return f"no answer within {TIMEOUT_S:.0f} s"
    if isinstance(error, requests.ConnectionError):
        return "connection refused or host unreachable"
    return type(error).__name__


def require_kafka(bootstrap_servers: str, option: str = "--bootstrap-servers", timeout_s: float = TIMEOUT_S) -> None:
    """Kafka's metadata answers at `bootstrap_servers`, or `Unreachable`."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from connectors.kafka_clients import client_config

    # log_level 0: refusals are the expected answer here, and this function says so itself.
    admin = AdminClient(client_config({"bootstrap.servers": bootstrap_servers, "log_level": 0}))
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException as error:
        raise Unreachable("Kafka broker", bootstrap_servers, option, error.args[0].str()) from None


def require_registry(url: str, option: str = "--registry-url", timeout_s: float = TIMEOUT_S) -> None:
    """The schema registry's ccompat API answers at `url`, or `Unreachable`. Asked with
    the registry settings FEBLAM's client would use (FEBLAM_REGISTRY_*, or a secured
    local stack's credentials and CA)."""
    from connectors.registry import RegistrySettings

    settings = RegistrySettings.from_env(url)
    options = {"verify": settings.ssl_ca_location or True}
    if settings.basic_auth_user_info:
        options["auth"] = tuple(settings.basic_auth_user_info.split(":", 1))
    if settings.ssl_certificate_location:
        options["cert"] = (settings.ssl_certificate_location, settings.ssl_key_location) \
            if settings.ssl_key_location else settings.ssl_certificate_location
    try:
        response = requests.get(f"{settings.url.split(',')[0].rstrip('/')}/subjects", timeout=timeout_s, **options)
    except requests.RequestException as error:
        raise Unreachable("schema registry", url, option, _why(error)) from None
    if response.status_code >= 500 or response.status_code == 404:
        raise Unreachable("schema registry", url, option, f"HTTP {response.status_code} for /subjects")


def require_flink(url: str, option: str = "--flink-url", timeout_s: float = TIMEOUT_S) -> None:
    """A Flink cluster's REST API answers at `url`, or `Unreachable`."""
    try:
        response = requests.get(f"{url.rstrip('/')}/config", timeout=timeout_s)
        response.raise_for_status()
        response.json()["flink-version"]
    except requests.RequestException as error:
        raise Unreachable("Flink cluster", url, option, _why(error)) from None
    except (ValueError, KeyError):
        raise Unreachable("Flink cluster", url, option, "the answer is not Flink's REST API") from None
