"""Shared fixtures for connector tests: running a scan to completion and the shared data folder."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.core.knowledge import Document, SourceProblem
from assistant.ingest.ports import Connector


@dataclass(frozen=True)
class ScanResult:
    documents: list[Document]
    problems: list[SourceProblem]

    def by_title(self, title: str) -> Document:
        matches = [d for d in self.documents if d.title == title]
        assert len(matches) == 1, f"{len(matches)} documents titled {title!r}"
        return matches[0]


def _run(connector: Connector) -> ScanResult:
    async def collect() -> ScanResult:
        documents: list[Document] = []
        problems: list[SourceProblem] = []
        async for item in connector.scan():
            if isinstance(item, SourceProblem):
                problems.append(item)
            else:
                documents.append(item)
        return ScanResult(documents, problems)

    return asyncio.run(collect())


@pytest.fixture
def scan() -> Callable[[Connector], ScanResult]:
    """Runs ``connector.scan()`` to the end and splits documents from problems."""
    return _run


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository; the test is skipped where it is absent."""
    path = Path(__file__).resolve().parents[3].parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not present")
    return path


@pytest.fixture
def shipped_mapping() -> Path:
    return Path(__file__).resolve().parents[3] / "connectors" / "sample_knowledge" / "mapping.yaml"
