"""Shared fixtures for session unit tests: async tests run on asyncio, time on a FakeClock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assistant.core.clock import FakeClock


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
