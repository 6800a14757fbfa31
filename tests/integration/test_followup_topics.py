"""The follow-up rule on the real index with the bundled e5: follow-ups keep their topic, a new question
is searched as asked (``TopicShift``'s dense test), on a slice of the sample knowledge."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from assistant.answering.answer import HistoryTurn
from assistant.app.services import Services, build_services
from assistant.app.settings import Settings
from tests.integration.cli_runner import cli_env, run_cli

pytestmark = pytest.mark.anyio
SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "connectors" / "sample_knowledge" / "faq.jsonl"
KEEP = {
    "faq-ddareungi-rent",
    "faq-ddareungi-price",
    "faq-ddareungi-return",
    "faq-ddareungi-broken",
    "faq-passport-new",
    "faq-basic-pension-eligibility",
    "faq-basic-pension-apply",
    "faq-basic-pension-proxy",
    "faq-resident-copy-proxy",
    "faq-civil-defense",
    "faq-streetlight-broken",
    "faq-bulky-how-to-report",
    "faq-bulky-fee-lookup",
    "faq-pet-registration",
}
BIKE = "따릉이는 어떻게 빌리나요?"
PENSION = "기초연금은 누가 받을 수 있나요?"
DEADLINE = timedelta(seconds=10)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("followups")
    lines = [
        line for line in SAMPLE_FAQ.read_text(encoding="utf-8").splitlines() if json.loads(line)["id"] in KEEP
    ]
    (root / "kb").mkdir()
    (root / "kb" / "faq.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_cli(["ingest", str(root / "kb")], cli_env(root / "data", DASAN_LOG_LEVEL="WARNING"), cwd=root)
    assert done.code == 0, done.stderr
    return root / "data"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def services(data_dir: Path) -> AsyncIterator[Services]:
    settings = Settings(data_dir=data_dir, llm={"backend": "none"})  # type: ignore[arg-type]
    built = await build_services(settings, env={})
    try:
        yield built
    finally:
        await built.aclose()


@pytest.mark.parametrize(
    ("previous", "question", "by", "expected_title"),
    [
        (BIKE, "반납은요?", "rule", "따릉이 반납은 어떻게 하나요?"),
        (BIKE, "고장 나면 어디에 신고해요?", "rule", "따릉이가 고장 났으면 어디에 신고하나요?"),
        (PENSION, "그럼 신청은 어디서 해요?", "rule", "기초연금은 어디에서 신청하나요?"),
        (PENSION, "아들이 대신 신청해도 돼요?", "rule", "기초연금을 자녀가 대신 신청해도 되나요?"),
        (BIKE, "여권은 어디서 어떻게 만들 수 있나요?", "standalone", "여권은 어디서 어떻게 만들 수 있나요?"),
        (PENSION, "민방위 교육은요?", "standalone", "민방위 교육은 언제까지 받아야 하나요?"),
        (
            "따릉이가 고장 나면 어디에 신고해요?",
            "밤에 가로등이 꺼져 있는데 어디에 신고해요?",
            "standalone",
            "밤에 가로등이 꺼져 있어요. 어디에 신고하나요?",
        ),
    ],
)
async def test_follow_ups_keep_their_topic_and_new_questions_stand_alone(
    services: Services, previous: str, question: str, by: str, expected_title: str
) -> None:
    pipeline = await services.answerer()
    found = await pipeline.search(question, history=(HistoryTurn("user", previous),))
    assert found.rewrite is not None and found.rewrite.by == by, found.query
    assert found.hits[0].chunk.title == expected_title


async def test_a_new_topic_is_answered_from_its_own_source(services: Services) -> None:
    """The reported bug: 여권 after 따릉이 was answered from the 따릉이 FAQ."""
    pipeline = await services.answerer()
    answer = await pipeline.answer(
        "여권은 어디서 어떻게 만들 수 있나요?",
        history=(HistoryTurn("user", BIKE), HistoryTurn("assistant", "앱에서 이용권을 사서 빌려요 [1].")),
        deadline=DEADLINE,
    )
    assert answer.mode == "extractive" and answer.citations
    assert {c.title for c in answer.citations} == {"여권은 어디서 어떻게 만들 수 있나요?"}
