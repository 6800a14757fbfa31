"""The one error tree of dasan.

::

    DasanError
    ├── ConfigurationError            fail at startup (bad setting, model mismatch)
    │   └── IndexMismatch             the index was built with another embedding model
    ├── InvalidInbound                bad payload or signature → 4xx, never reaches the dialogue
    ├── SourceError                   one input file, row or page could not be read (path, row)
    ├── ConversationConflict          optimistic concurrency lost → retry once
    ├── IngestBusy                    another ingest holds the collection's lock
    └── UpstreamError(retryable)      a dependency failed
        ├── LLMError
        │   ├── LLMTimeout            an attempt or the deadline ran out (retryable)
        │   ├── LLMUnavailable        connection failed, 429 or 5xx (retryable)
        │   │   └── LLMStreamInterrupted  a stream broke before it finished (retryable)
        │   ├── LLMContextLength      prompt + max_tokens exceed the model's context
        │   ├── LLMBadRequest         any other 4xx: our request is wrong
        │   └── LLMCircuitOpen        the breaker is open: failing fast
        ├── RetrievalError
        │   └── IndexLocked           the embedded shard is open in another process (the server)
        ├── EmbeddingError
        ├── TelephonyError
        ├── DeliveryError
        └── StorageError

Adapters raise these ``from`` the vendor's exception; nothing above the adapters sees vendor types.
"""

from __future__ import annotations

from datetime import timedelta


class DasanError(Exception):
    """Base of every error dasan raises on purpose."""


class ConfigurationError(DasanError):
    """A setting is missing or invalid; raised at startup, naming the variable."""


class IndexMismatch(ConfigurationError):
    """The index was built with a different embedding model than the one configured."""


class InvalidInbound(DasanError):
    """An inbound request is malformed or unauthenticated."""


class SourceError(DasanError):
    """One input (file, row or API page) could not be read. Carries where, so a CLI can name it."""

    def __init__(self, location: str, reason: str, row: int | None = None) -> None:
        self.location = location
        self.reason = reason
        self.row = row
        where = f"{location}, row {row}" if row is not None else location
        super().__init__(f"{where}: {reason}")


class ConversationConflict(DasanError):
    """An append lost the optimistic-concurrency race."""


class IngestBusy(DasanError):
    """Another ingest run holds the collection's lock."""


class UpstreamError(DasanError):
    """A dependency failed. ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class LLMError(UpstreamError):
    """The language model failed or timed out."""


class LLMTimeout(LLMError):
    """The model did not answer within the attempt's timeout or the request's deadline."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable)


class LLMUnavailable(LLMError):
    """The model server could not be reached, is overloaded (429) or failed (5xx).

    ``retry_after`` is the server's hint (a ``Retry-After`` header) when it gave one."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: timedelta | None = None) -> None:
        super().__init__(message, retryable=retryable)
        self.retry_after = retry_after


class LLMStreamInterrupted(LLMUnavailable):
    """A stream ended before the server finished it; the text received so far is not an answer."""


class LLMContextLength(LLMError):
    """The prompt plus ``max_tokens`` do not fit the model's context window; retrying cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class LLMBadRequest(LLMError):
    """The server rejected the request (4xx other than 408/429): a bug or a misconfiguration."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, retryable=False)
        self.status = status


class LLMCircuitOpen(LLMError):
    """Recent calls failed so often that the circuit breaker refuses calls until it resets."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class RetrievalError(UpstreamError):
    """The vector index failed."""


class IndexLocked(RetrievalError):
    """The embedded index shard is held by another process (a running ``dasan serve``)."""


class EmbeddingError(UpstreamError):
    """The embedder failed."""


class TelephonyError(UpstreamError):
    """The telephony provider failed."""


class DeliveryError(UpstreamError):
    """A message could not be delivered to a channel."""


class StorageError(UpstreamError):
    """A database or cache failed."""
