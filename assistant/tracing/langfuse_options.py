"""Langfuse connection options, read from the SDK's standard ``LANGFUSE_*`` environment variables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from assistant.core.errors import ConfigurationError

MAX_QUEUED_SPANS = 2048
"""The OpenTelemetry batch processor's queue; a batch (``LANGFUSE_FLUSH_AT``) cannot exceed it."""

_T = TypeVar("_T")
_U = TypeVar("_U")


@dataclass(frozen=True, slots=True)
class LangfuseOptions:
    """Where and how spans are exported. ``timeout_s`` bounds each export request, and so how long
    ``aclose`` can block per pending batch."""

    public_key: str
    secret_key: str
    base_url: str
    timeout_s: int = 5
    flush_at: int | None = None
    flush_interval_s: float | None = None
    sample_rate: float = 1.0
    environment: str | None = None
    release: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LangfuseOptions | None:
        """The options, or None when tracing is off: no keys, or ``LANGFUSE_TRACING_ENABLED=false``.

        A key without the other, or keys without ``LANGFUSE_BASE_URL`` (``LANGFUSE_HOST`` is accepted
        too), fail fast: dasan never falls back to a hosted Langfuse with citizens' data.
        """
        public_key = env.get("LANGFUSE_PUBLIC_KEY", "").strip()
        secret_key = env.get("LANGFUSE_SECRET_KEY", "").strip()
        if env.get("LANGFUSE_TRACING_ENABLED", "true").strip().lower() == "false":
            return None
        if not public_key and not secret_key:
            return None
        if not public_key or not secret_key:
            missing = "LANGFUSE_SECRET_KEY" if public_key else "LANGFUSE_PUBLIC_KEY"
            raise ConfigurationError(f"{missing} must be set together with the other Langfuse key")
        base_url = (env.get("LANGFUSE_BASE_URL") or env.get("LANGFUSE_HOST") or "").strip().rstrip("/")
        if not base_url:
            raise ConfigurationError(
                "LANGFUSE_BASE_URL (or LANGFUSE_HOST) must name the self-hosted Langfuse when keys are set"
            )
        sample_rate = _parse(env, "LANGFUSE_SAMPLE_RATE", float, 1.0)
        if not 0.0 <= sample_rate <= 1.0:
            raise ConfigurationError(f"LANGFUSE_SAMPLE_RATE must be between 0 and 1, got {sample_rate}")
        timeout_s = _parse(env, "LANGFUSE_TIMEOUT", int, 5)
        flush_at = _parse(env, "LANGFUSE_FLUSH_AT", int, None)
        flush_interval_s = _parse(env, "LANGFUSE_FLUSH_INTERVAL", float, None)
        if timeout_s < 1:
            raise ConfigurationError(f"LANGFUSE_TIMEOUT must be at least 1 second, got {timeout_s}")
        if flush_at is not None and not 1 <= flush_at <= MAX_QUEUED_SPANS:
            raise ConfigurationError(
                f"LANGFUSE_FLUSH_AT must be between 1 and {MAX_QUEUED_SPANS}, got {flush_at}"
            )
        if flush_interval_s is not None and flush_interval_s <= 0:
            raise ConfigurationError(f"LANGFUSE_FLUSH_INTERVAL must be positive, got {flush_interval_s}")
        return cls(
            public_key=public_key,
            secret_key=secret_key,
            base_url=base_url,
            timeout_s=timeout_s,
            flush_at=flush_at,
            flush_interval_s=flush_interval_s,
            sample_rate=sample_rate,
            environment=env.get("LANGFUSE_TRACING_ENVIRONMENT") or None,
            release=env.get("LANGFUSE_RELEASE") or None,
        )


def _parse(env: Mapping[str, str], name: str, convert: Callable[[str], _T], default: _U) -> _T | _U:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return convert(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name}: not a valid number: {raw!r}") from exc
