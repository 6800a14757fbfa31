"""Suite-wide set-up: tests never depend on the developer's environment (STYLE §4)."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """A developer's Langfuse keys must not turn tracing on in tests that build services from
    ``os.environ``: tests that trace pass their own environment to ``build_services(env=...)``."""
    for name in [name for name in os.environ if name.startswith("LANGFUSE_")]:
        del os.environ[name]
