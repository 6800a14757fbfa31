"""LANGFUSE_* environment variables to options; off without keys, fail fast when half-configured."""

from __future__ import annotations

import pytest

from assistant.core.errors import ConfigurationError
from assistant.tracing.langfuse_options import LangfuseOptions

KEYS = {"LANGFUSE_PUBLIC_KEY": "pk-lf-1", "LANGFUSE_SECRET_KEY": "sk-lf-1"}


def test_no_keys_means_tracing_off() -> None:
    assert LangfuseOptions.from_env({}) is None
    assert LangfuseOptions.from_env({"LANGFUSE_BASE_URL": "http://lf:3000"}) is None


def test_explicitly_disabled_wins_over_keys() -> None:
    env = {**KEYS, "LANGFUSE_BASE_URL": "http://lf:3000", "LANGFUSE_TRACING_ENABLED": "False"}
    assert LangfuseOptions.from_env(env) is None


def test_base_url_or_legacy_host_and_the_tuning_variables() -> None:
    options = LangfuseOptions.from_env(
        {
            **KEYS,
            "LANGFUSE_HOST": "http://langfuse:3000/",
            "LANGFUSE_TIMEOUT": "3",
            "LANGFUSE_FLUSH_AT": "64",
            "LANGFUSE_FLUSH_INTERVAL": "2.5",
            "LANGFUSE_SAMPLE_RATE": "0.25",
            "LANGFUSE_TRACING_ENVIRONMENT": "staging",
        }
    )
    assert options == LangfuseOptions(
        public_key="pk-lf-1",
        secret_key="sk-lf-1",
        base_url="http://langfuse:3000",
        timeout_s=3,
        flush_at=64,
        flush_interval_s=2.5,
        sample_rate=0.25,
        environment="staging",
    )
    preferred = LangfuseOptions.from_env(
        {**KEYS, "LANGFUSE_BASE_URL": "http://a", "LANGFUSE_HOST": "http://b"}
    )
    assert preferred is not None and preferred.base_url == "http://a"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_BASE_URL": "http://a"}, "LANGFUSE_SECRET_KEY"),
        ({"LANGFUSE_SECRET_KEY": "sk", "LANGFUSE_BASE_URL": "http://a"}, "LANGFUSE_PUBLIC_KEY"),
        (KEYS, "LANGFUSE_BASE_URL"),
        ({**KEYS, "LANGFUSE_BASE_URL": "http://a", "LANGFUSE_TIMEOUT": "soon"}, "LANGFUSE_TIMEOUT"),
        ({**KEYS, "LANGFUSE_BASE_URL": "http://a", "LANGFUSE_SAMPLE_RATE": "2"}, "LANGFUSE_SAMPLE_RATE"),
        ({**KEYS, "LANGFUSE_BASE_URL": "http://a", "LANGFUSE_FLUSH_AT": "100000"}, "LANGFUSE_FLUSH_AT"),
        (
            {**KEYS, "LANGFUSE_BASE_URL": "http://a", "LANGFUSE_FLUSH_INTERVAL": "0"},
            "LANGFUSE_FLUSH_INTERVAL",
        ),
        ({**KEYS, "LANGFUSE_BASE_URL": "http://a", "LANGFUSE_TIMEOUT": "0"}, "LANGFUSE_TIMEOUT"),
    ],
)
def test_half_configured_tracing_fails_fast_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        LangfuseOptions.from_env(env)
