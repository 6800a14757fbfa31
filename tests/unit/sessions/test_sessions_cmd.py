"""`dasan sessions purge|migrate` against a real SQLite file under the data dir: conversations, and also
lapsed staff logins, feedback and case records past their retention."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.accounts.passwords import Argon2Passwords
from assistant.accounts.sql_accounts import SqlAccountStore
from assistant.accounts.sql_logins import SqlLoginStore
from assistant.app.cli import sessions_cmd
from assistant.core.clock import FakeClock, SystemClock
from assistant.core.events import ConversationKey, MessageId
from assistant.dialogue.flows.records import CivilComplaint, RestrictedContact
from assistant.dialogue.flows.sql_records import SqlCaseRecordStore
from assistant.sessions.conversation import NewEvent
from assistant.sessions.feedback import AgentFeedback
from assistant.sessions.sql_engine import create_session_engine
from assistant.sessions.sql_feedback import SqlFeedbackStore
from assistant.sessions.sql_store import SqlConversationStore


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings read only what the test sets: no .env, no DASAN_* from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("DASAN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DASAN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def seed(url: str, threads_and_times: list[tuple[str, datetime]]) -> None:
    async def go() -> None:
        engine = create_session_engine(url)
        try:
            for thread, at in threads_and_times:
                store = SqlConversationStore(engine, clock=FakeClock(at))
                event = NewEvent("user_turn", at, {"text": "안녕하세요"}, MessageId("m1"))
                await store.append(ConversationKey("web", thread), 0, [event])
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_purge_deletes_idle_conversations_and_reports_json(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(sessions_cmd.build(), ["migrate"]).exit_code == 0
    url = f"sqlite:///{data_dir / 'dasan.sqlite3'}"
    now = SystemClock().now()
    seed(url, [("old", now - timedelta(days=45)), ("older", datetime(2020, 1, 1, tzinfo=UTC)), ("new", now)])

    result = runner.invoke(sessions_cmd.build(), ["purge", "--older-than", "30d", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["purged"] == 2 and report["older_than_s"] == 30 * 86_400
    again = runner.invoke(sessions_cmd.build(), ["purge"])
    assert again.exit_code == 0 and again.stdout.startswith("purged 0 conversations idle since ")


def test_a_bad_age_is_a_usage_error(data_dir: Path) -> None:
    result = CliRunner().invoke(sessions_cmd.build(), ["purge", "--older-than", "30 days"])
    assert result.exit_code == 2
    assert "--older-than expects a number and a unit" in result.stderr


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        (" 90m ", timedelta(minutes=90)),
    ],
)
def test_parse_age(text: str, age: timedelta) -> None:
    assert sessions_cmd.parse_age(text) == age


def test_parse_age_refuses_zero() -> None:
    with pytest.raises(ValueError, match="more than zero"):
        sessions_cmd.parse_age("0d")


def test_purge_also_deletes_lapsed_logins_and_feedback_and_cases_past_retention(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(sessions_cmd.build(), ["migrate"]).exit_code == 0
    url = f"sqlite:///{data_dir / 'dasan.sqlite3'}"
    now = SystemClock().now()

    async def seed_rest() -> None:
        engine = create_session_engine(url)
        try:
            passwords = Argon2Passwords(time_cost=1, memory_cost_kib=1024, parallelism=1)
            kim = await SqlAccountStore(engine, FakeClock(now), passwords).create(
                "kim", "agent", "correct horse 1"
            )
            await SqlLoginStore(engine, FakeClock(now - timedelta(hours=13)), timedelta(hours=12)).open(kim)
            await SqlLoginStore(engine, FakeClock(now - timedelta(hours=11)), timedelta(hours=12)).open(kim)
            feedback = SqlFeedbackStore(engine)
            for seq, age in ((1, timedelta(days=400)), (2, timedelta(days=300))):
                await feedback.record(
                    AgentFeedback("web:t", seq, "up", "kim", "질문", "답변", ("c#0",), at=now - age)
                )
            cases = SqlCaseRecordStore(engine)
            for n, age in ((1, timedelta(days=1100)), (2, timedelta(days=1000))):
                await cases.add(
                    CivilComplaint(
                        f"CP-20230101-000{n}",
                        "가로등 고장",
                        "깜빡여요",
                        {},
                        None,
                        now - age,
                        RestrictedContact(),
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(seed_rest())

    result = runner.invoke(sessions_cmd.build(), ["purge", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["logins_purged"], report["feedback_purged"], report["case_records_purged"]) == (1, 1, 1)
    again = runner.invoke(sessions_cmd.build(), ["purge"])
    assert again.exit_code == 0
    assert again.stdout.endswith(", 0 expired logins, 0 feedback ratings and 0 case records past retention\n")
