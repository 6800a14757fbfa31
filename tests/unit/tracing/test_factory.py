"""build_tracer: Noop without keys, Langfuse with keys and a salt, refused without the salt."""

from __future__ import annotations

import pytest

from assistant.core.errors import ConfigurationError
from assistant.dialogue.pii import PiiRedactor
from assistant.tracing.factory import build_tracer
from assistant.tracing.noop import NoopTracer

KEYS = {
    "LANGFUSE_PUBLIC_KEY": "pk-lf-factory",
    "LANGFUSE_SECRET_KEY": "sk",
    "LANGFUSE_BASE_URL": "http://127.0.0.1:9",
}


def test_no_keys_builds_the_noop_tracer() -> None:
    assert isinstance(build_tracer({}, redactor=PiiRedactor(), hash_salt=None), NoopTracer)


def test_keys_without_a_salt_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="DASAN_TRACING__HASH_SALT"):
        build_tracer(KEYS, redactor=PiiRedactor(), hash_salt=None)


@pytest.mark.anyio
async def test_keys_and_a_salt_build_the_langfuse_tracer() -> None:
    tracer = build_tracer(KEYS, redactor=PiiRedactor(), hash_salt="factory-salt-0123456789")
    try:
        assert type(tracer).__name__ == "LangfuseTracer"
    finally:
        await tracer.aclose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
