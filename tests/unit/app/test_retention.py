"""RetentionSweeper: each store is purged at its own cutoff; run_forever keeps sweeping after a failure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from assistant.app.retention import RetentionSweeper
from assistant.app.settings import RetentionSettings
from assistant.core.clock import FakeClock
from assistant.core.errors import StorageError

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class RecordingPurge:
    """Records each cutoff; answers ``deleted``, or raises the queued errors first."""

    def __init__(self, deleted: int, *errors: Exception) -> None:
        self.cutoffs: list[datetime] = []
        self.deleted = deleted
        self.errors = list(errors)

    async def purge(self, older_than: datetime) -> int:
        if self.errors:
            raise self.errors.pop(0)
        self.cutoffs.append(older_than)
        return self.deleted


class RecordingLogins:
    def __init__(self, deleted: int) -> None:
        self.calls = 0
        self.deleted = deleted

    async def purge_expired(self) -> int:
        self.calls += 1
        return self.deleted


RETENTION = RetentionSettings(
    conversations=timedelta(days=30), feedback=timedelta(days=365), case_records=timedelta(days=1095)
)


async def test_run_once_purges_each_store_at_its_own_cutoff() -> None:
    conversations, feedback, cases, logins = (
        RecordingPurge(4),
        RecordingPurge(2),
        RecordingPurge(1),
        RecordingLogins(7),
    )
    sweeper = RetentionSweeper(
        conversations=conversations,
        feedback=feedback,
        case_records=cases,
        logins=logins,
        clock=FakeClock(NOW),
        retention=RETENTION,
    )

    report = await sweeper.run_once()

    assert report.counts() == {"conversations": 4, "feedback": 2, "case_records": 1, "logins": 7}
    assert report.at == NOW
    assert conversations.cutoffs == [NOW - timedelta(days=30)]
    assert feedback.cutoffs == [NOW - timedelta(days=365)]
    assert cases.cutoffs == [NOW - timedelta(days=1095)]
    assert logins.calls == 1

    await sweeper.run_once(conversations_older_than=timedelta(hours=12))
    assert conversations.cutoffs[-1] == NOW - timedelta(hours=12)


async def test_without_a_session_store_conversations_are_left_alone() -> None:
    sweeper = RetentionSweeper(
        feedback=RecordingPurge(0),
        case_records=RecordingPurge(0),
        logins=RecordingLogins(0),
        clock=FakeClock(NOW),
        retention=RETENTION,
    )

    assert (await sweeper.run_once()).conversations is None


async def test_run_forever_sweeps_every_interval_and_survives_a_failure() -> None:
    feedback = RecordingPurge(0, StorageError("database unavailable", retryable=True))
    logins = RecordingLogins(0)
    slept: list[float] = []
    third_sleep = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            third_sleep.set()
            await asyncio.Event().wait()  # park here until cancelled

    sweeper = RetentionSweeper(
        feedback=feedback,
        case_records=RecordingPurge(0),
        logins=logins,
        clock=FakeClock(NOW),
        retention=RETENTION,
        interval=timedelta(minutes=10),
        sleep=sleep,
    )
    task = asyncio.create_task(sweeper.run_forever())
    await asyncio.wait_for(third_sleep.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert slept == [600.0, 600.0, 600.0]
    assert len(feedback.cutoffs) == 2  # the first sweep failed, the next two ran
    assert logins.calls == 2


def test_a_zero_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        RetentionSweeper(
            feedback=RecordingPurge(0),
            case_records=RecordingPurge(0),
            logins=RecordingLogins(0),
            clock=FakeClock(NOW),
            retention=RETENTION,
            interval=timedelta(0),
        )
