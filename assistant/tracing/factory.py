"""build_tracer: Langfuse when its keys are set, otherwise the no-op tracer."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from assistant.core.clock import Clock
from assistant.core.errors import ConfigurationError
from assistant.core.events import Channel
from assistant.tracing.langfuse_options import LangfuseOptions
from assistant.tracing.noop import NoopTracer
from assistant.tracing.ports import TextRedactor, Tracer
from assistant.tracing.privacy import DEFAULT_CAPTURE_CHANNELS, CapturePolicy, Pseudonymizer


def build_tracer(
    env: Mapping[str, str],
    *,
    redactor: TextRedactor,
    hash_salt: str | None,
    capture_channels: Collection[Channel] = DEFAULT_CAPTURE_CHANNELS,
    clock: Clock | None = None,
) -> Tracer:
    """The tracer for this process. ``env`` holds the SDK's ``LANGFUSE_*`` variables (pass
    ``os.environ``); with no keys the result is a ``NoopTracer`` and ``langfuse`` is not imported.
    With keys, ``hash_salt`` is required: without it the pseudonymous ids could be reversed."""
    options = LangfuseOptions.from_env(env)
    if options is None:
        return NoopTracer()
    if not hash_salt:
        raise ConfigurationError(
            "DASAN_TRACING__HASH_SALT must be set (a secret of 16+ characters) when LANGFUSE_PUBLIC_KEY "
            "is set: it keys the hashes that pseudonymise session and user ids"
        )
    from assistant.tracing.langfuse_tracer import LangfuseTracer

    return LangfuseTracer(
        options,
        redactor=redactor,
        pseudonymizer=Pseudonymizer(hash_salt),
        capture=CapturePolicy.of(capture_channels),
        clock=clock,
    )
