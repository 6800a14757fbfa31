"""Shared fixtures for retrieval unit tests: one Kiwi analyzer per session (it loads in seconds)."""

from __future__ import annotations

import pytest

from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer


@pytest.fixture(scope="session")
def kiwi_analyzer() -> KiwiAnalyzer:
    analyzer = KiwiAnalyzer(num_workers=2)
    analyzer.warm_up()
    return analyzer
