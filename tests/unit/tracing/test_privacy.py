"""Pseudonymous ids, per-channel capture and the content filter."""

from __future__ import annotations

import pytest

from assistant.core.errors import ConfigurationError
from assistant.core.events import ConversationKey
from assistant.dialogue.pii import PiiRedactor
from assistant.tracing.privacy import CapturePolicy, ContentFilter, Pseudonymizer

SALT = "unit-test-salt-0123456789"


def test_ids_are_stable_keyed_and_do_not_contain_the_original() -> None:
    key = ConversationKey("phone", "CA1234")
    ids = Pseudonymizer(SALT)
    assert ids.session_id(key) == Pseudonymizer(SALT).session_id(key)
    assert ids.session_id(key) != Pseudonymizer(SALT + "x").session_id(key)
    assert ids.session_id(key) != ids.session_id(ConversationKey("phone", "CA1235"))
    assert ids.session_id(key).startswith("phone-") and "CA1234" not in ids.session_id(key)
    user = ids.user_id("phone", "+821012345678")
    assert user.startswith("phone-") and "1012345678" not in user
    assert user != ids.user_id("kakao", "+821012345678")
    assert len(user) == len("phone-") + 24


def test_session_and_user_hashes_are_separate_domains() -> None:
    ids = Pseudonymizer(SALT)
    assert ids.session_id(ConversationKey("web", "x")).split("-")[1] != ids.user_id("web", "x").split("-")[1]


def test_a_short_salt_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="DASAN_TRACING__HASH_SALT"):
        Pseudonymizer("short")


def test_phone_and_checkin_do_not_capture_by_default() -> None:
    policy = CapturePolicy()
    assert [c for c in ("web", "api", "rasa", "kakao", "phone", "checkin") if policy.captures(c)] == [
        "web",
        "api",
        "rasa",
        "kakao",
    ]
    assert CapturePolicy.of(["phone"]).captures("phone") and not CapturePolicy.of(["phone"]).captures("web")


def test_captured_content_is_redacted_everywhere_inside_it() -> None:
    content = ContentFilter(PiiRedactor(), capture=True)
    value, sizes = content.content(
        "input", [{"role": "user", "content": "제 번호는 010-1234-5678 입니다"}, ("900101-1234567", 3)]
    )
    assert value == [{"role": "user", "content": "제 번호는 [전화번호] 입니다"}, ["[주민등록번호]", 3]]
    assert sizes == {}


def test_uncaptured_content_is_omitted_and_only_its_size_kept() -> None:
    content = ContentFilter(PiiRedactor(), capture=False)
    assert content.content("input", {"q": "안녕하세요", "n": 3}) == (None, {"input_chars": 5})
    assert content.content("output", None) == (None, {})


def test_metadata_strings_are_always_redacted() -> None:
    content = ContentFilter(PiiRedactor(), capture=False)
    assert content.metadata({"route": "answer", "slot": "010-1234-5678", "n": 2, "ok": True}) == {
        "route": "answer",
        "slot": "[전화번호]",
        "n": 2,
        "ok": True,
    }
    assert content.metadata(None) == {}
