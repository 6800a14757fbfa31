"""Golden SkillResponse JSON: wire changes show up as diffs of snapshots/*.json.

A missing snapshot is written (and the test passes); UPDATE_SNAPSHOTS=1 rewrites them all. On CI a
missing snapshot fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.core.knowledge import ChunkId
from assistant.core.replies import Citation, Reply
from channels.kakao.messages import KakaoMessages
from channels.kakao.translator import KakaoTranslator
from channels.kakao.wire_response import KakaoSkillResponse

SNAPSHOTS = Path(__file__).parent / "snapshots"
SENTENCE = "대형폐기물은 구청 홈페이지나 앱에서 배출 신고를 한 뒤 납부필증을 붙여 지정일에 내놓으면 됩니다. "
MESSAGES = KakaoMessages()


def _source(n: int, url: str | None) -> Citation:
    titles = {1: "대형폐기물 배출 방법", 2: "주민등록표 등본 발급", 3: "긴급복지 지원제도"}
    return Citation(
        n=n,
        chunk_id=ChunkId(f"chunk-{n}"),
        title=titles.get(n, f"자료 {n}"),
        source="찾기쉬운 생활법령정보",
        url=url,
        section="신청 방법",
    )


PLAIN = KakaoTranslator()
OPERATOR = KakaoTranslator(operator_handoff=True)

CASES: dict[str, Callable[[], KakaoSkillResponse]] = {
    "plain_text": lambda: PLAIN.encode(Reply(text="주민등록등본은 정부24에서 무료로 발급받을 수 있어요.")),
    "long_text_split": lambda: PLAIN.encode(Reply(text=SENTENCE * 40)),
    "long_text_truncated": lambda: PLAIN.encode(Reply(text=SENTENCE * 80)),
    "single_source": lambda: PLAIN.encode(
        Reply(
            text="구청에 배출 신고를 한 뒤 내놓으세요 [1].",
            citations=(_source(1, "https://www.easylaw.go.kr/a"),),
        )
    ),
    "several_sources": lambda: PLAIN.encode(
        Reply(
            text="신고 후 배출하고 [1], 등본은 정부24에서 [2], 위기 가구는 긴급복지를 [3] 신청하세요.",
            citations=tuple(_source(n, f"https://www.easylaw.go.kr/{n}") for n in (1, 2, 3)),
        )
    ),
    "unlinked_sources": lambda: PLAIN.encode(
        Reply(text="수수료는 품목마다 달라요 [1][2].", citations=(_source(1, None), _source(2, None)))
    ),
    "handoff_operator": lambda: OPERATOR.encode(
        Reply(
            text="이 문의는 상담원이 도와드리는 게 좋겠어요.", action="handoff", quick_replies=("처음으로",)
        )
    ),
    "handoff_phone": lambda: PLAIN.encode(
        Reply(text="이 문의는 상담원이 도와드리는 게 좋겠어요.", action="handoff")
    ),
    "quick_replies": lambda: PLAIN.encode(
        Reply(
            text="어떤 도움이 필요하세요?",
            quick_replies=(
                "민원서류",
                "대형폐기물 배출 신고 방법 알려 주세요",
                "복지",
                "상담원 연결",
                *(f"자주 묻는 질문 {n}" for n in range(1, 10)),
            ),
        )
    ),
    "holding_ack": lambda: KakaoTranslator.holding("답변을 준비하고 있어요. 잠시만 기다려 주세요."),
    "busy": lambda: PLAIN.text(MESSAGES.busy),
    "late": lambda: PLAIN.text(MESSAGES.late),
    "apology": lambda: PLAIN.text(MESSAGES.apology("corr-1")),
    "empty_utterance": lambda: PLAIN.text(MESSAGES.empty_utterance),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_skill_response_matches_the_snapshot(case: str) -> None:
    response = CASES[case]()
    actual = json.dumps(response.to_json(), ensure_ascii=False, indent=2) + "\n"
    assert KakaoSkillResponse.model_validate_json(actual) == response
    path = SNAPSHOTS / f"{case}.json"
    if not path.exists() and os.environ.get("CI"):
        pytest.fail(f"{path} is missing; generate it locally and commit it")
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == actual, (
        f"{path.name} differs from the encoded response; rerun with UPDATE_SNAPSHOTS=1 if intended"
    )
