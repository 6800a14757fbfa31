"""The copilot's pure pieces: the same-origin rule, safe redirects, masked labels, suggestions read
back from a conversation log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assistant.core.events import ConversationKey, MessageId
from assistant.sessions.conversation import Conversation, NewEvent, apply_append
from channels.copilot.auth import safe_next
from channels.copilot.labels import conversation_label, thread_tag
from channels.copilot.origin import is_same_origin
from channels.copilot.suggestions import suggestion_at, suggestion_for

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "host", "trusted", "allowed"),
    [
        ({"origin": "http://127.0.0.1:8000"}, "127.0.0.1:8000", (), True),
        ({"origin": "https://dasan.example"}, "dasan.example", (), True),  # TLS ends at the proxy
        ({"origin": "https://dasan.example:443"}, "dasan.example", (), True),
        ({"origin": "https://DASAN.example"}, "dasan.example:443", (), True),
        ({"origin": "https://dasan.example", "sec-fetch-site": "same-origin"}, "dasan.example", (), True),
        ({"sec-fetch-site": "same-origin"}, "dasan.example", (), True),
        ({"origin": "https://evil.example"}, "dasan.example", (), False),
        ({"origin": "https://dasan.example.evil.example"}, "dasan.example", (), False),
        ({"origin": "http://127.0.0.1:8001"}, "127.0.0.1:8000", (), False),
        ({"origin": "null"}, "dasan.example", (), False),
        ({"origin": "https://user@dasan.example"}, "dasan.example", (), False),
        ({"origin": "https://dasan.example", "sec-fetch-site": "same-site"}, "dasan.example", (), False),
        ({"origin": "https://dasan.example", "sec-fetch-site": "cross-site"}, "dasan.example", (), False),
        ({}, "dasan.example", (), False),
        ({"origin": "https://copilot.example"}, "internal:8000", ("https://copilot.example",), True),
        ({"origin": "https://other.example"}, "internal:8000", ("https://copilot.example",), False),
    ],
)
def test_same_origin(headers: dict[str, str], host: str, trusted: tuple[str, ...], allowed: bool) -> None:
    assert is_same_origin(headers, host=host, trusted=trusted) is allowed


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        (None, "/copilot"),
        ("/copilot", "/copilot"),
        ("/copilot?x=1#y", "/copilot?x=1#y"),
        ("//evil.example", "/copilot"),
        ("/\\evil.example", "/copilot"),
        ("https://evil.example/copilot", "/copilot"),
        ("copilot", "/copilot"),
        ("/copi\nlot", "/copilot"),
        ("/a\\b", "/copilot"),
        ("/login?next=/x", "/copilot"),
        ("/logout", "/copilot"),
        ("/" + "a" * 600, "/copilot"),
    ],
)
def test_safe_next(target: str | None, landing: str) -> None:
    assert safe_next(target) == landing


def test_labels_show_a_stable_tag_and_never_the_thread() -> None:
    kakao = ConversationKey("kakao", "a1B2c3D4e5F6kakaoUserKey0099")
    assert conversation_label(kakao) == f"카카오 ·{thread_tag(kakao)}"
    assert conversation_label(kakao) == conversation_label(ConversationKey("kakao", kakao.thread))
    assert thread_tag(kakao) != thread_tag(ConversationKey("phone", kakao.thread))
    assert len(thread_tag(kakao)) == 4 and kakao.thread[:4] not in conversation_label(kakao)
    assert conversation_label(ConversationKey("checkin", "call-1")).startswith("안부전화 ·")


def _log(*events: NewEvent) -> Conversation:
    key = ConversationKey("web", "s1")
    return apply_append(Conversation.new(key), 0, events, state=None, status=None, now=NOW).conversation


def test_a_suggestion_is_read_back_with_its_question_sources_and_trace() -> None:
    citations = [{"n": 1, "chunk_id": "c-1"}, {"n": 2, "chunk_id": "c-2"}, {"n": 3}]
    conversation = _log(
        NewEvent("user_turn", NOW, {"text": "여권은요?"}, MessageId("u1")),
        NewEvent("bot_reply", NOW, {"text": "구청이요", "in_reply_to": "u1"}, MessageId("u1#reply")),
        NewEvent("assist_request", NOW, {"agent_id": "kim", "for_seq": 1}, MessageId("a1")),
        NewEvent(
            "assist_reply",
            NOW,
            {"text": "구청 민원실 [1][2]", "in_reply_to": "a1", "citations": citations, "trace_id": "t1"},
            MessageId("a1#reply"),
        ),
        NewEvent("assist_request", NOW, {"agent_id": "kim", "for_seq": None}, MessageId("a2")),
    )
    found = suggestion_at(conversation, 3)
    assert found is not None
    assert (found.assist_seq, found.question, found.text) == (3, "여권은요?", "구청 민원실 [1][2]")
    assert found.cited_chunk_ids == ("c-1", "c-2") and found.trace_id == "t1"
    assert suggestion_for(conversation, "a1") == found
    assert suggestion_at(conversation, 1) is None  # a citizen's turn is no suggestion
    assert suggestion_at(conversation, 5) is None  # asked, never answered
    assert suggestion_at(conversation, 99) is None
    assert suggestion_for(conversation, "nope") is None
