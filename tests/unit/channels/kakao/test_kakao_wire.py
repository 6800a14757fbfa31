"""Kakao wire models: tolerant reading of real and documented payloads, limits enforced on responses."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from channels.kakao.wire_request import KakaoSkillRequest
from channels.kakao.wire_response import (
    KakaoBasicCard,
    KakaoButton,
    KakaoListCard,
    KakaoListHeader,
    KakaoListItem,
    KakaoQuickReply,
    KakaoSimpleText,
    KakaoSkillResponse,
    KakaoTemplate,
    SimpleTextOutput,
)
from tests.unit.channels.kakao.kakao_doubles import RESPONSE_EXAMPLES, SHARED_KAKAO, shared_json


def test_the_real_captured_payload_parses(real_payload: dict[str, Any]) -> None:
    request = KakaoSkillRequest.model_validate(real_payload)
    assert request.bot.id == "5ae9b76d7409b11ec845b746!"
    assert request.user_key == real_payload["userRequest"]["user"]["id"]
    assert request.userRequest.user.type == "botUserKey"
    assert request.userRequest.user.properties.bot_user_key == request.user_key
    assert request.userRequest.user.properties.plusfriend_user_key == "aaaaaaaa"
    assert request.userRequest.lang == "ko"
    assert request.userRequest.utterance == "aaa"
    assert request.callback_url is not None
    assert request.callback_url.startswith("https://bot-api.kakao.com/v1/bots/")


def test_the_v1_docs_payload_parses_with_kr_and_talk_user_id(v1_payload: dict[str, Any]) -> None:
    request = KakaoSkillRequest.model_validate(v1_payload)
    assert request.userRequest.lang == "ko"  # "kr" in the v1 docs
    assert request.userRequest.user.type == "talk_user_id"
    assert request.user_key == "620678"
    assert request.userRequest.user.properties.plusfriend_user_key == "BlGTEYoiNoSh"
    assert request.action.clientExtra == "null"
    assert request.callback_url is None


def test_unknown_and_snake_case_duplicate_keys_are_tolerated(real_payload: dict[str, Any]) -> None:
    payload = copy.deepcopy(real_payload)
    payload["flow"] = {"lastBlock": {"id": "x"}, "trigger": {"type": "TEXT_INPUT"}}
    payload["userRequest"]["user"]["properties"] = {"bot_user_key": "k1", "talkUserId": "t", "accountId": "1"}
    payload["intent"]["extra"]["knowledge"] = {"matchedKnowledges": []}
    request = KakaoSkillRequest.model_validate(payload)
    assert request.userRequest.user.properties.bot_user_key == "k1"


def test_a_literally_duplicated_json_key_keeps_the_last_value(real_payload: dict[str, Any]) -> None:
    raw = json.dumps(real_payload, ensure_ascii=False)
    raw = raw.replace('"utterance": "aaa"', '"utterance": "첫 번째", "utterance": "두 번째"')
    request = KakaoSkillRequest.model_validate(json.loads(raw))
    assert request.userRequest.utterance == "두 번째"


@pytest.mark.parametrize(
    "breakage",
    [
        lambda p: p.pop("userRequest"),
        lambda p: p.pop("bot"),
        lambda p: p["userRequest"].pop("utterance"),
        lambda p: p["userRequest"]["user"].pop("id"),
        lambda p: p["userRequest"].__setitem__("utterance", ["not", "text"]),
        lambda p: p["bot"].__setitem__("id", ""),
        lambda p: p["userRequest"].__setitem__("utterance", "가" * 4001),
    ],
)
def test_payloads_missing_what_the_channel_needs_are_rejected(
    real_payload: dict[str, Any], breakage: Any
) -> None:
    payload = copy.deepcopy(real_payload)
    breakage(payload)
    with pytest.raises(ValidationError):
        KakaoSkillRequest.model_validate(payload)


def test_a_blank_callback_url_counts_as_absent(real_payload: dict[str, Any]) -> None:
    payload = copy.deepcopy(real_payload)
    payload["userRequest"]["callbackUrl"] = "  "
    assert KakaoSkillRequest.model_validate(payload).callback_url is None


# -- responses -------------------------------------------------------------------------------------------


def _text(text: str = "안녕하세요") -> SimpleTextOutput:
    return SimpleTextOutput(simpleText=KakaoSimpleText(text=text))


def test_labels_are_counted_per_character_not_per_byte() -> None:
    fourteen = "가나다라마바사아자차카타파하"
    assert len(fourteen) == 14 and len(fourteen.encode()) == 42
    assert KakaoQuickReply(label=fourteen, messageText=fourteen).label == fourteen
    with pytest.raises(ValidationError):
        KakaoQuickReply(label=fourteen + "거", messageText="x")
    with pytest.raises(ValidationError):
        KakaoButton(action="operator", label=fourteen + "거")


@pytest.mark.parametrize(
    "build",
    [
        lambda: KakaoTemplate(outputs=(_text(),) * 4),
        lambda: KakaoTemplate(outputs=()),
        lambda: KakaoTemplate(
            outputs=(_text(),), quickReplies=(KakaoQuickReply(label="a", messageText="a"),) * 11
        ),
        lambda: KakaoSimpleText(text="가" * 1001),
        lambda: KakaoBasicCard(title="가" * 51),
        lambda: KakaoBasicCard(description="가" * 231),
        lambda: KakaoBasicCard(title="t", buttons=(KakaoButton(action="operator", label="상담원"),) * 4),
        KakaoBasicCard,
        lambda: KakaoButton(action="webLink", label="열기"),
        lambda: KakaoButton(action="webLink", label="열기", webLinkUrl="javascript:alert(1)"),
        lambda: KakaoButton(action="phone", label="전화"),
        lambda: KakaoListCard(header=KakaoListHeader(title="h"), items=(KakaoListItem(title="i"),) * 6),
        KakaoSkillResponse,
        lambda: KakaoSkillResponse(useCallback=True, template=KakaoTemplate(outputs=(_text(),))),
    ],
)
def test_responses_beyond_kakao_limits_cannot_be_built(build: Any) -> None:
    with pytest.raises(ValidationError):
        build()


def test_at_the_limits_a_response_is_valid_and_serialises_without_nulls() -> None:
    response = KakaoSkillResponse(
        template=KakaoTemplate(
            outputs=(_text("가" * 1000),) * 3,
            quickReplies=(KakaoQuickReply(label="가" * 14, messageText="나" * 1000),) * 10,
        )
    )
    body = response.to_json()
    assert body["version"] == "2.0"
    assert "useCallback" not in body and "data" not in body
    assert KakaoSkillResponse.model_validate(body) == response


def test_the_constructed_response_examples_validate() -> None:
    if not (SHARED_KAKAO / RESPONSE_EXAMPLES).exists():
        pytest.skip("../shared/protocols/kakao is not present")
    examples = shared_json(RESPONSE_EXAMPLES)
    for name in (
        "simpleText",
        "basicCard",
        "listCard",
        "quickReplies",
        "useCallback_ack_minimal",
        "useCallback_ack_with_data",
        "callback_POST_body_to_callbackUrl",
    ):
        example = examples[name]
        assert KakaoSkillResponse.model_validate(example).to_json() == example, name
