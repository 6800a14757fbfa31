"""RetentionSweeper: deletes what outlived its retention period (conversations, feedback, case records)
and expired staff logins, once (``dasan sessions purge``) or every interval (the HTTP server)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Protocol

from assistant.app.settings import RetentionSettings
from assistant.core.clock import Clock
from assistant.core.errors import DasanError

_log = logging.getLogger(__name__)


class PurgesBefore(Protocol):
    """A store that deletes its records older than a cutoff, returning how many."""

    async def purge(self, older_than: datetime) -> int: ...


class PurgesExpired(Protocol):
    """A store whose rows carry their own expiry (logins)."""

    async def purge_expired(self) -> int: ...


@dataclass(frozen=True, slots=True)
class SweepReport:
    """How many rows one sweep deleted (None for what the sweeper was not given), and when it ran."""

    at: datetime
    conversations: int | None
    feedback: int
    case_records: int
    logins: int

    def counts(self) -> dict[str, int | None]:
        return {name: value for name, value in asdict(self).items() if name != "at"}


class RetentionSweeper:
    """One sweep deletes conversations idle longer than ``retention.conversations`` (when given a
    session store), feedback older than ``retention.feedback``, case records older than
    ``retention.case_records`` and lapsed logins. Every purge is idempotent, so several workers
    sweeping the same database at once only repeat each other's deletes.

    ``run_forever`` sweeps every ``interval`` until cancelled; a failed sweep is logged (its error
    type and message, which name no personal data) and retried at the next interval.
    """

    def __init__(
        self,
        *,
        feedback: PurgesBefore,
        case_records: PurgesBefore,
        logins: PurgesExpired,
        clock: Clock,
        retention: RetentionSettings,
        conversations: PurgesBefore | None = None,
        interval: timedelta = timedelta(hours=1),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError("the sweep interval must be more than zero")
        self._feedback = feedback
        self._case_records = case_records
        self._logins = logins
        self._conversations = conversations
        self._clock = clock
        self._retention = retention
        self._interval = interval
        self._sleep = sleep

    async def run_once(self, *, conversations_older_than: timedelta | None = None) -> SweepReport:
        """Sweep now. ``conversations_older_than`` overrides ``retention.conversations`` (the CLI's
        ``--older-than``)."""
        now = self._clock.now()
        conversations = None
        if self._conversations is not None:
            age = conversations_older_than or self._retention.conversations
            conversations = await self._conversations.purge(now - age)
        return SweepReport(
            at=now,
            conversations=conversations,
            feedback=await self._feedback.purge(now - self._retention.feedback),
            case_records=await self._case_records.purge(now - self._retention.case_records),
            logins=await self._logins.purge_expired(),
        )

    async def run_forever(self) -> None:
        """Sweep, then wait ``interval``, until cancelled (start it as a task in the app's lifespan)."""
        while True:
            try:
                report = await self.run_once()
            except DasanError as exc:
                _log.warning("retention sweep failed: %s: %s", type(exc).__name__, exc)
            except Exception as exc:  # a task boundary: keep sweeping next time
                _log.exception("retention sweep failed unexpectedly: %s", type(exc).__name__)
            else:
                if any(report.counts().values()):
                    _log.info("retention sweep deleted %s", report.counts())
            await self._sleep(self._interval.total_seconds())
