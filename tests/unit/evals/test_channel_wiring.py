"""Channel conformance through the channels' real encoders, as ``assistant.app.eval_wiring`` wires them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.app.eval_wiring import KakaoSkillEncoder, TwilioVoiceEncoder
from assistant.core.clock import FakeClock
from assistant.core.knowledge import ChunkId
from assistant.core.replies import Citation, Reply
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from channels.kakao.config import KakaoChannelConfig
from channels.twilio.config import TwilioChannelConfig
from evals.channel_checks import kakao_violations, twiml_violations
from evals.datasets import load_dataset
from evals.plan import build_suite
from evals.runner import EvalRunner
from evals.subjects import ChannelEncoder, Subjects

pytestmark = pytest.mark.anyio
DATASET = Path(__file__).resolve().parents[3] / "evals" / "datasets" / "channel_conformance.jsonl"
LONG = "대형폐기물은 구청에 신고하고 수수료를 내면 됩니다. " * 150


def real_encoders(
    kakao: KakaoChannelConfig | None = None, twilio: TwilioChannelConfig | None = None
) -> dict[str, ChannelEncoder]:
    return {
        "kakao": KakaoSkillEncoder(kakao or KakaoChannelConfig()),
        "twilio": TwilioVoiceEncoder(twilio or TwilioChannelConfig(), load_safety_rulebook(), FakeClock()),
    }


def citation(n: int, url: str | None = "https://www.gov.kr") -> Citation:
    return Citation(n=n, chunk_id=ChunkId(f"c{n}"), title=f"대형폐기물 신고 {n}", source="sample", url=url)


async def test_every_committed_channel_case_conforms_through_the_real_encoders() -> None:
    suite = build_suite(load_dataset(DATASET), Subjects(encoders=real_encoders()))
    assert suite.options == {"kakao": "KakaoSkillEncoder", "twilio": "TwilioVoiceEncoder"}
    result = await EvalRunner(clock=FakeClock()).run_suite(suite)
    failing = {c.case_id: [s.reason for s in c.scores if not s.passed] for c in result.cases if not c.passed}
    assert result.status == "ran" and not failing, failing
    assert result.metric("violating_replies").value == 0  # type: ignore[union-attr]


async def test_kakao_hard_replies_stay_within_the_limits_and_lose_their_markdown() -> None:
    encoder = KakaoSkillEncoder(KakaoChannelConfig())
    quick = tuple(f"자주 묻는 질문 {n}번 보기" for n in range(12))
    wire = await encoder.encode(Reply(text=LONG, quick_replies=quick, citations=(citation(1), citation(2))))
    assert kakao_violations(wire) == []
    outputs = wire["template"]["outputs"]
    assert len(outputs) == 3 and "listCard" in outputs[-1]  # two text parts, then the sources
    assert len(wire["template"]["quickReplies"]) == 10
    marked = await encoder.encode(
        Reply(text="## 신청\n**구청**에서 `신고`해요. [복지로](https://www.bokjiro.go.kr)")
    )
    text = marked["template"]["outputs"][0]["simpleText"]["text"]
    assert text == "신청\n구청에서 신고해요. 복지로 (https://www.bokjiro.go.kr)"


@pytest.mark.parametrize("action", ["continue", "handoff", "end_call"])
async def test_twilio_replies_become_valid_spoken_twiml_for_every_action(action: Any) -> None:
    encoder = TwilioVoiceEncoder(TwilioChannelConfig(), load_safety_rulebook(), FakeClock())
    text = "요금 <현장> & 카드 [1]. 따릉이는 1,000원이에요 🚲 " + LONG
    document = await encoder.encode(Reply(text=text, citations=(citation(1),), action=action))
    assert twiml_violations(document) == [], document[:300]
    assert "&lt;현장&gt; &amp; 카드" in document and "🚲" not in document and "[1]" not in document
    verbs = {"continue": "</Gather>", "handoff": "<Hangup", "end_call": "<Hangup"}
    assert verbs[action] in document


async def test_the_voice_flow_uses_the_configured_voice_hotline_and_emergency_line() -> None:
    config = TwilioChannelConfig(voice="Polly.Seoyeon", hotline="02-120", emergency_transfer_number="+82119")
    rulebook = load_safety_rulebook()
    encoder = TwilioVoiceEncoder(config, rulebook, FakeClock())
    guidance = rulebook.categories[0].guidance
    emergency = await encoder.encode(Reply(text=guidance, action="handoff"))
    assert "<Dial" in emergency and "+82119" in emergency and twiml_violations(emergency) == []
    handoff = await encoder.encode(Reply(text="상담원에게 연결해 드릴게요.", action="handoff"))
    assert 'voice="Polly.Seoyeon"' in handoff and "공이 일이공" in handoff  # no agent: call the hotline


class VerbatimKakaoEncoder:
    """A careless encoder: the reply text as it is, in one bubble."""

    async def encode(self, reply: Reply) -> dict[str, Any]:
        return {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": reply.text}}]}}


class SilentTwilioEncoder:
    """An encoder that drops the answer: valid TwiML that says nothing of it."""

    async def encode(self, reply: Reply) -> str:
        return '<Response><Say language="ko-KR">네.</Say><Hangup/></Response>'


async def test_careless_encoders_fail_the_suite() -> None:
    encoders: dict[str, ChannelEncoder] = {"kakao": VerbatimKakaoEncoder(), "twilio": SilentTwilioEncoder()}
    result = await EvalRunner(clock=FakeClock()).run_suite(
        build_suite(load_dataset(DATASET), Subjects(encoders=encoders))
    )
    failed = {c.case_id: c for c in result.cases if not c.passed}
    assert {"ch-kakao-002", "ch-kakao-003", "ch-kakao-006"} <= set(failed)
    assert "1578 characters" in json.dumps([s.reason for s in failed["ch-kakao-002"].scores])
    assert all(c.case_id in failed for c in result.cases if c.case_id.startswith("ch-twilio"))
    assert result.metric("kept_text").value < 1  # type: ignore[union-attr]
