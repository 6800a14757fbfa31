"""How an ingest run reports progress and problems while it works."""

from __future__ import annotations

from typing import Protocol

from assistant.core.knowledge import SourceProblem


class IngestProgress(Protocol):
    """Receives progress events. The CLI renders them as a progress bar; tests record them."""

    def phase(self, name: str, total: int | None) -> None:
        """A new phase starts (scan, encode, build); ``total`` is its size when known."""
        ...

    def advance(self, amount: int) -> None: ...

    def problem(self, problem: SourceProblem) -> None: ...


class SilentProgress:
    """Discards progress, keeps nothing."""

    def phase(self, name: str, total: int | None) -> None:
        return None

    def advance(self, amount: int) -> None:
        return None

    def problem(self, problem: SourceProblem) -> None:
        return None
