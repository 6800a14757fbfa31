"""Observability wiring: the process's tracer (Langfuse or none, guarded and metered), the hash salt
it keys pseudonymous ids with, and the turn observers that feed the Prometheus metrics."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from assistant.app.metrics import Metrics
from assistant.app.settings import Settings
from assistant.core.clock import Clock
from assistant.core.errors import ConfigurationError
from assistant.dialogue.manager_ports import TurnObserver, TurnTiming
from assistant.dialogue.pii import PiiRedactor
from assistant.tracing.factory import build_tracer
from assistant.tracing.langfuse_options import LangfuseOptions
from assistant.tracing.observed import ObservedTracer

_log = logging.getLogger(__name__)

SALT_FILE = "tracing-hash-salt"
"""Under the data dir: the generated salt when ``DASAN_TRACING__HASH_SALT`` is unset (mode 0600)."""


def build_app_tracer(
    settings: Settings, env: Mapping[str, str], *, metrics: Metrics, clock: Clock
) -> ObservedTracer:
    """Langfuse when ``env`` has its keys (``LANGFUSE_PUBLIC_KEY``/``SECRET_KEY``/``BASE_URL``), else the
    no-op tracer; either way wrapped so a tracing failure never reaches a turn and every step is
    metered. Invalid ``LANGFUSE_*`` values fail here, at startup."""
    options = LangfuseOptions.from_env(env)
    salt: str | None = None
    if options is not None:
        salt = resolve_hash_salt(settings.tracing.hash_salt, settings.data_dir).get_secret_value()
    inner = build_tracer(
        env,
        redactor=PiiRedactor(),
        hash_salt=salt,
        capture_channels=settings.tracing.capture_channels,
        clock=clock,
    )
    if options is None:
        _log.info("tracing off: LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are unset")
    else:
        captured = ",".join(sorted(settings.tracing.capture_channels)) or "none"
        _log.info("tracing to Langfuse at %s (content captured on: %s)", options.base_url, captured)
    return ObservedTracer(inner, metrics)


def resolve_hash_salt(configured: SecretStr | None, data_dir: Path) -> SecretStr:
    """The configured salt, else one generated once into ``data_dir`` (mode 0600) and kept: a new salt
    would split every pseudonymous session and user id from its earlier traces. Never logged."""
    if configured is not None and configured.get_secret_value().strip():
        return SecretStr(configured.get_secret_value().strip())
    path = data_dir / SALT_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_salt(path)
    except OSError as exc:
        raise ConfigurationError(
            f"DASAN_TRACING__HASH_SALT is unset and {path} cannot be created: {exc}"
        ) from exc
    salt = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(salt + "\n")
    _log.warning(
        "DASAN_TRACING__HASH_SALT is unset: generated the tracing hash salt in %s; keep that file "
        "(or set the variable) so traces keep their pseudonymous session and user ids",
        path,
    )
    return SecretStr(salt)


def _read_salt(path: Path) -> SecretStr:
    try:
        salt = path.read_text(encoding="ascii").strip()
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the tracing hash salt {path}: {exc}") from exc
    if not salt:
        raise ConfigurationError(f"the tracing hash salt {path} is empty; delete it to regenerate")
    _log.info("using the tracing hash salt in %s", path)
    return SecretStr(salt)


class TurnMetrics:
    """A ``TurnObserver`` recording each turn into the metrics: turns by channel and route, turn
    latency, abstentions, handoffs, safety flags and errors by type."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def turn_done(self, timing: TurnTiming) -> None:
        channel = timing.key.channel
        self._metrics.record_turn(channel, timing.route, timing.total_ms / 1000)
        if timing.abstained:
            self._metrics.record_abstention(channel)
        if timing.handoff:
            self._metrics.record_handoff(channel)
        for flag in timing.safety_flags:
            self._metrics.record_safety_flag(flag)
        if timing.error is not None:
            self._metrics.record_error(timing.error)


class TurnObservers:
    """Tells several observers about each turn, in order."""

    def __init__(self, *observers: TurnObserver) -> None:
        self._observers = observers

    def turn_done(self, timing: TurnTiming) -> None:
        for observer in self._observers:
            observer.turn_done(timing)
