"""KakaoTranslator: payload → UserTurn, Reply → SkillResponse within every Kakao limit."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assistant.core.events import ConversationKey
from assistant.core.knowledge import ChunkId
from assistant.core.replies import Citation, Reply
from channels.kakao.translator import KakaoTranslator, derive_message_id
from channels.kakao.wire_request import KakaoSkillRequest
from channels.kakao.wire_response import (
    BasicCardOutput,
    KakaoSkillResponse,
    ListCardOutput,
    SimpleTextOutput,
)

AT = datetime(2026, 3, 1, 9, 0, 1, tzinfo=UTC)
SENTENCE = "대형폐기물은 구청에 배출 신고를 한 뒤 스티커를 붙여 내놓으면 됩니다. "


def _citation(
    n: int, url: str | None = "https://www.law.go.kr/a", title: str = "대형폐기물 배출"
) -> Citation:
    return Citation(
        n=n, chunk_id=ChunkId(f"c{n}"), title=title, source="생활법령정보", url=url, section="신고"
    )


def _texts(response: KakaoSkillResponse) -> list[str]:
    assert response.template is not None
    return [o.simpleText.text for o in response.template.outputs if isinstance(o, SimpleTextOutput)]


# -- decode ---------------------------------------------------------------------------------------------


def test_decode_keys_the_conversation_by_bot_user_key(real_payload: dict[str, Any]) -> None:
    request = KakaoSkillRequest.model_validate(real_payload)
    turn = KakaoTranslator().decode(request, AT)
    assert turn.key == ConversationKey("kakao", real_payload["userRequest"]["user"]["id"])
    assert turn.text == "aaa"
    assert turn.received_at == AT
    assert turn.message_id.startswith("kakao-")
    assert turn.metadata["bot_id"] == "5ae9b76d7409b11ec845b746!"
    assert turn.metadata["lang"] == "ko"
    assert turn.metadata["callback"] == "yes"
    assert real_payload["userRequest"]["user"]["id"] not in turn.message_id  # the id does not leak the key


def test_decode_reads_the_v1_docs_payload(v1_payload: dict[str, Any]) -> None:
    turn = KakaoTranslator().decode(KakaoSkillRequest.model_validate(v1_payload), AT)
    assert turn.key == ConversationKey("kakao", "620678")
    assert turn.text == "스킬"
    assert turn.metadata["user_type"] == "talk_user_id"
    assert turn.metadata["callback"] == "no"


def test_message_ids_are_stable_within_a_bucket_and_differ_otherwise(real_payload: dict[str, Any]) -> None:
    window = timedelta(seconds=5)
    request = KakaoSkillRequest.model_validate(real_payload)
    start = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)  # a bucket boundary
    first = derive_message_id(request, start, window)
    assert derive_message_id(request, start + timedelta(seconds=4.9), window) == first
    assert derive_message_id(request, start + timedelta(seconds=5), window) != first
    other_text = copy.deepcopy(real_payload)
    other_text["userRequest"]["utterance"] = "bbb"
    assert derive_message_id(KakaoSkillRequest.model_validate(other_text), start, window) != first
    other_user = copy.deepcopy(real_payload)
    other_user["userRequest"]["user"]["id"] = "someone-else"
    assert derive_message_id(KakaoSkillRequest.model_validate(other_user), start, window) != first
    spaced = copy.deepcopy(real_payload)
    spaced["userRequest"]["utterance"] = "  aaa "
    assert derive_message_id(KakaoSkillRequest.model_validate(spaced), start, window) == first


def test_capabilities_are_plain_text_with_kakao_sizes() -> None:
    caps = KakaoTranslator.capabilities(timedelta(seconds=3.5))
    assert (caps.markdown, caps.spoken, caps.max_chars, caps.max_quick_replies) == (False, False, 3000, 10)
    assert caps.reply_budget == timedelta(seconds=3.5)


# -- encode ---------------------------------------------------------------------------------------------


def test_a_short_reply_is_one_simple_text() -> None:
    response = KakaoTranslator().encode(Reply(text="안녕하세요. 무엇을 도와드릴까요?"))
    assert response.to_json() == {
        "version": "2.0",
        "template": {"outputs": [{"simpleText": {"text": "안녕하세요. 무엇을 도와드릴까요?"}}]},
    }


def test_long_text_is_split_over_three_simple_texts_at_sentence_ends() -> None:
    response = KakaoTranslator().encode(Reply(text=SENTENCE * 70))  # 2,800 characters
    texts = _texts(response)
    assert len(texts) == 3
    assert all(len(t) <= 1000 and t.endswith("됩니다.") for t in texts)


def test_text_too_long_for_three_outputs_is_trimmed_with_a_note() -> None:
    response = KakaoTranslator().encode(Reply(text=SENTENCE * 200))
    texts = _texts(response)
    assert len(texts) == 3
    assert texts[-1].endswith("(답변이 길어 일부만 보여 드려요.)")
    assert all(len(t) <= 1000 for t in texts)


def test_one_linked_citation_is_a_basic_card_with_a_web_link() -> None:
    response = KakaoTranslator().encode(Reply(text="신고 후 배출합니다 [1].", citations=(_citation(1),)))
    assert response.template is not None
    text, card = response.template.outputs
    assert isinstance(text, SimpleTextOutput) and isinstance(card, BasicCardOutput)
    assert card.basicCard.title == "[1] 대형폐기물 배출"
    (button,) = card.basicCard.buttons
    assert (button.action, button.webLinkUrl) == ("webLink", "https://www.law.go.kr/a")


def test_several_linked_citations_are_one_list_card_of_at_most_five() -> None:
    citations = tuple(_citation(n, url=f"https://example.org/{n}", title=f"자료 {n}") for n in range(1, 8))
    response = KakaoTranslator().encode(Reply(text="답변 [1][2].", citations=citations))
    assert response.template is not None
    cards = [o for o in response.template.outputs if isinstance(o, ListCardOutput)]
    assert len(cards) == 1
    items = cards[0].listCard.items
    assert [i.title for i in items] == [f"[{n}] 자료 {n}" for n in range(1, 6)]
    assert all(i.link is not None and i.link.web.startswith("https://example.org/") for i in items)


def test_citations_without_a_url_are_named_under_the_text() -> None:
    response = KakaoTranslator().encode(
        Reply(text="답변입니다 [1].", citations=(_citation(1, url=None), _citation(2, url="ftp://x/y")))
    )
    assert response.template is not None
    assert len(response.template.outputs) == 1
    assert _texts(response)[0].endswith("출처: [1] 대형폐기물 배출, [2] 대형폐기물 배출")


def test_handoff_uses_the_operator_button_when_configured() -> None:
    response = KakaoTranslator(operator_handoff=True).encode(
        Reply(text="상담원을 연결할게요.", action="handoff")
    )
    assert response.template is not None
    card = response.template.outputs[-1]
    assert isinstance(card, BasicCardOutput)
    assert [b.action for b in card.basicCard.buttons] == ["operator", "phone"]


def test_handoff_without_operator_gives_the_120_number() -> None:
    response = KakaoTranslator(operator_handoff=False).encode(Reply(text="", action="handoff"))
    assert response.template is not None
    (card,) = response.template.outputs
    assert isinstance(card, BasicCardOutput)
    assert card.basicCard.description is not None and "120" in card.basicCard.description
    assert [(b.action, b.phoneNumber) for b in card.basicCard.buttons] == [("phone", "120")]
    assert all(b.action != "operator" for b in card.basicCard.buttons)


def test_quick_replies_are_capped_at_ten_with_short_labels_and_full_messages() -> None:
    labels = (*(f"{n}번 민원서류 발급 방법 안내" for n in range(12)), "0번 민원서류 발급 방법 안내", " ")
    response = KakaoTranslator().encode(Reply(text="무엇을 도와드릴까요?", quick_replies=labels))
    assert response.template is not None
    quick = response.template.quickReplies
    assert len(quick) == 10
    assert all(len(q.label) <= 14 for q in quick)
    assert [q.messageText for q in quick] == list(labels[:10])


def test_an_empty_reply_still_says_something() -> None:
    assert _texts(KakaoTranslator().encode(Reply(text="   ")))[0].startswith("답변을 드리지 못했어요")


def test_a_reply_meant_for_an_agent_is_not_shown_to_the_citizen() -> None:
    texts = _texts(KakaoTranslator().encode(Reply(text="상담원 참고: 민원인 정보", audience="agent")))
    assert all("민원인 정보" not in t for t in texts)


def test_holding_is_the_use_callback_acknowledgement() -> None:
    assert KakaoTranslator.holding("잠시만요").to_json() == {
        "version": "2.0",
        "useCallback": True,
        "data": {"text": "잠시만요"},
    }


@pytest.mark.parametrize("seed", range(40))
def test_any_reply_encodes_within_every_limit(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [
        SENTENCE,
        "짧은 문장. ",
        "가" * rng.randint(1, 1500),
        "\n\n",
        "https://x.y/z ",
        "ㅋ" * 20 + "! ",
    ]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
    citations = tuple(
        _citation(
            n, url=rng.choice([None, f"https://e.org/{n}", "not a url"]), title="제" * rng.randint(0, 90)
        )
        for n in range(rng.randint(0, 8))
    )
    quick = tuple("빠른답장" * rng.randint(1, 300) for _ in range(rng.randint(0, 15)))
    reply = Reply(
        text=text,
        citations=citations,
        quick_replies=quick,
        action=rng.choice(["continue", "handoff", "end_call"]),
    )
    response = KakaoTranslator(operator_handoff=rng.random() < 0.5).encode(reply)
    assert KakaoSkillResponse.model_validate(response.to_json()) == response  # limits hold on the wire JSON
