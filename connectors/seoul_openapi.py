"""SeoulOpenApiConnector: every row of one Seoul Open Data Plaza service, paged ≤1,000 rows a call.

The API key is a path segment of every URL, so every URL, log line and problem text this module
produces shows ``****`` in its place. (httpx itself logs request URLs at INFO: keep the ``httpx``
logger at WARNING, or attach :class:`SecretMaskingFilter` to it.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import httpx

from assistant.core.errors import ConfigurationError
from assistant.core.knowledge import Document, DocumentId, SourceProblem
from connectors.api_mapping import ApiMapping, preset_mapping, row_draft, row_values
from connectors.drafts import KeyAllocator
from connectors.seoul_envelope import (
    NO_DATA,
    SUCCESS,
    TRANSIENT_CODES,
    MalformedEnvelope,
    SeoulPage,
    read_envelope,
)

MASK = "****"
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class _Failure:
    reason: str
    transient: bool


class SeoulOpenApiConnector:
    """Source ``seoul-openapi:{service}``; one document per row.

    Pages follow ``list_total_count``. INFO-200 means no (more) data. Any other non-success code,
    HTTP error or timeout is one ``SourceProblem`` and ends the scan of this service; transient ones
    (timeouts, connection errors, HTTP 5xx/429, ERROR-500/600/601) are first retried
    ``max_attempts`` times with doubling delays. Every document and problem of the service shares
    one ``origin`` (the masked service URL), so a failure on any page protects what earlier runs
    indexed from later pages; the problem's reason names the failing page.
    """

    def __init__(
        self,
        service: str,
        *,
        key: str,
        client: httpx.AsyncClient,
        base_url: str,
        page_size: int = MAX_PAGE_SIZE,
        mapping: ApiMapping | None = None,
        path_args: Sequence[str] = (),
        max_attempts: int = 3,
        retry_delay: timedelta = timedelta(seconds=1),
    ) -> None:
        if not service or "/" in service:
            raise ConfigurationError(f"Seoul Open API service name {service!r} is not valid")
        if not key:
            raise ConfigurationError("the Seoul Open API key is empty (DASAN_SEOUL_OPENAPI__KEY)")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(
                f"page_size must be 1..{MAX_PAGE_SIZE} (the API refuses more: ERROR-336)"
            )
        if max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1")
        self._service = service
        self._key = key
        self._client = client
        self._base = base_url.rstrip("/")
        self._page_size = page_size
        self._mapping = mapping or preset_mapping(service) or ApiMapping()
        self._extra = "".join(f"{quote(str(arg), safe='')}/" for arg in path_args)
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._log = logging.getLogger(__name__)

    @property
    def source(self) -> str:
        return f"seoul-openapi:{self._service}"

    @property
    def origin(self) -> str:
        """The masked service URL every document and problem of this connector carries."""
        return f"{self._base}/{MASK}/json/{quote(self._service, safe='')}/"

    async def scan(self) -> AsyncIterator[Document | SourceProblem]:
        keys = KeyAllocator()
        ordinal = 0
        start = 1
        total: int | None = None
        while True:
            end = start + self._page_size - 1 if total is None else min(start + self._page_size - 1, total)
            page = await self._fetch(start, end)
            if isinstance(page, SourceProblem):
                yield page
                return
            if page.code == NO_DATA:
                self._log.info("%s: no data from row %d", self.source, start)
                return
            total = page.total
            for wire_row in page.rows:
                ordinal += 1
                draft = row_draft(
                    row_values(wire_row),
                    self._mapping,
                    fallback_title=f"{self._service} {ordinal}",
                    ordinal=ordinal,
                    keys=keys,
                )
                if draft is not None:
                    yield draft.to_document(
                        document_id=DocumentId(f"{self.source}/{draft.key}"),
                        source=self.source,
                        origin=self.origin,
                    )
            if not page.rows or end >= total:
                return
            start = end + 1

    def _url(self, start: int, end: int, *, masked: bool) -> str:
        key = MASK if masked else quote(self._key, safe="")
        return f"{self._base}/{key}/json/{quote(self._service, safe='')}/{start}/{end}/{self._extra}"

    async def _fetch(self, start: int, end: int) -> SeoulPage | SourceProblem:
        shown = self._url(start, end, masked=True)
        failure = _Failure("no attempt made", transient=False)
        attempt = 0
        for attempt in range(1, self._max_attempts + 1):
            outcome = await self._attempt(self._url(start, end, masked=False))
            if isinstance(outcome, SeoulPage):
                return outcome
            failure = outcome
            if not failure.transient or attempt == self._max_attempts:
                break
            delay = self._retry_delay * (2 ** (attempt - 1))
            self._log.warning(
                "%s: %s (attempt %d of %d); retrying in %.1fs",
                shown,
                failure.reason,
                attempt,
                self._max_attempts,
                delay.total_seconds(),
            )
            await asyncio.sleep(delay.total_seconds())
        tries = f" after {attempt} attempts" if attempt > 1 else ""
        reason = (
            f"page {start}-{end} ({shown}) failed{tries}: {failure.reason}; stopped reading {self._service}"
        )
        self._log.warning("%s", reason)
        return SourceProblem(location=self.origin, reason=self._mask(reason), row=start)

    async def _attempt(self, url: str) -> SeoulPage | _Failure:
        try:
            response = await self._client.get(url)
        except httpx.TimeoutException as exc:
            return _Failure(f"timed out ({type(exc).__name__})", transient=True)
        except httpx.HTTPError as exc:
            return _Failure(self._mask(f"request failed ({type(exc).__name__}: {exc})"), transient=True)
        if response.status_code >= 400:
            transient = response.status_code >= 500 or response.status_code == 429
            return _Failure(f"HTTP {response.status_code} {response.reason_phrase}".strip(), transient)
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "unknown content type")
            return _Failure(f"the response is not JSON ({kind})", transient=False)
        page = read_envelope(body, self._service)
        if isinstance(page, MalformedEnvelope):
            return _Failure(page.reason, transient=False)
        if page.code in {SUCCESS, NO_DATA}:
            return page
        message = " ".join(page.message.split())
        return _Failure(self._mask(f"{page.code} {message}".strip()), transient=page.code in TRANSIENT_CODES)

    def _mask(self, text: str) -> str:
        return text.replace(self._key, MASK)


class SecretMaskingFilter(logging.Filter):
    """Replaces a secret in log records (for loggers outside our control, such as ``httpx``)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secret:
            message = record.getMessage()
            if self._secret in message:
                record.msg = message.replace(self._secret, MASK)
                record.args = None
        return True
