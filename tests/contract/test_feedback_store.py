"""Contract suite for ``FeedbackStore`` (SqlFeedbackStore) on SQLite and the real PostgreSQL: one rating
per (conversation, suggestion, agent), replaced when rated again (also when racing), newest first,
round trips of Korean text and cited chunk ids, and the retention purge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.sessions.feedback import AgentFeedback
from assistant.sessions.sql_feedback import SqlFeedbackStore
from tests.contract.sql_backends import SQL_BACKENDS, sql_database

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=SQL_BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlFeedbackStore]:
    async with sql_database(request.param, tmp_path) as engine:
        yield SqlFeedbackStore(engine)


def rating(
    *, conversation: str = "web:t-1", seq: int = 3, agent: str = "kim", minutes: int = 0, **changes: object
) -> AgentFeedback:
    feedback = AgentFeedback(
        conversation_id=conversation,
        assist_seq=seq,
        rating="up",
        agent=agent,
        question="기초연금 아들이 대신 신청해도 돼요?",
        suggestion="네, 가족이 대리 신청할 수 있어요 [1].",
        cited_chunk_ids=("faq-basic-pension-apply#0", "easylaw-12#3"),
        at=T0 + timedelta(minutes=minutes),
    )
    return replace(feedback, **changes)  # type: ignore[arg-type]


async def test_a_rating_round_trips(store: SqlFeedbackStore) -> None:
    given = rating(comment="출처가 정확해요")

    await store.record(given)

    assert await store.list_feedback() == [given]


async def test_rating_again_replaces_the_earlier_rating(store: SqlFeedbackStore) -> None:
    await store.record(rating())
    again = rating(rating="down", minutes=5, comment="수수료가 틀렸어요", cited_chunk_ids=())

    await store.record(again)

    assert await store.list_feedback() == [again]


async def test_other_agents_and_suggestions_are_separate_ratings(store: SqlFeedbackStore) -> None:
    ratings = [
        rating(minutes=0),
        rating(agent="lee", minutes=1),
        rating(seq=7, minutes=2),
        rating(conversation="kakao:u-9", minutes=3),
    ]
    for given in ratings:
        await store.record(given)

    assert await store.list_feedback() == ratings[::-1]  # newest first


async def test_racing_ratings_leave_one_row(store: SqlFeedbackStore) -> None:
    racers = [rating(rating="down" if i % 2 else "up", minutes=i) for i in range(10)]

    await asyncio.gather(*(store.record(r) for r in racers))

    stored = await store.list_feedback()
    assert len(stored) == 1 and stored[0] in racers


async def test_since_and_limit(store: SqlFeedbackStore) -> None:
    for minute in range(5):
        await store.record(rating(seq=minute, minutes=minute))

    assert [f.assist_seq for f in await store.list_feedback(limit=2)] == [4, 3]
    assert [f.assist_seq for f in await store.list_feedback(since=T0 + timedelta(minutes=3))] == [4, 3]
    assert await store.list_feedback(limit=0) == []


async def test_purge_deletes_ratings_older_than_the_cutoff(store: SqlFeedbackStore) -> None:
    for minute in range(4):
        await store.record(rating(seq=minute, minutes=minute))

    assert await store.purge(T0 + timedelta(minutes=2)) == 2
    assert await store.purge(T0 + timedelta(minutes=2)) == 0
    assert [f.assist_seq for f in await store.list_feedback()] == [3, 2]


async def test_an_unknown_rating_is_refused(store: SqlFeedbackStore) -> None:
    with pytest.raises(ValueError, match="'up' or 'down'"):
        await store.record(rating(rating="meh"))
    assert await store.list_feedback() == []
