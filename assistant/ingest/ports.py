"""The port connectors implement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from assistant.core.knowledge import Document, SourceProblem


class Connector(Protocol):
    """A source of documents.

    ``source`` names the source; ingest scopes deletions to it (a document of this source that a
    complete scan no longer yields is deleted). ``scan`` yields every current document, and a
    ``SourceProblem`` for each file, row or page it could not read, then goes on with the rest.
    Blocking parsing runs in worker threads inside the connector.
    """

    @property
    def source(self) -> str: ...

    def scan(self) -> AsyncIterator[Document | SourceProblem]: ...
