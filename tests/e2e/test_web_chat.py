"""The citizen's chat page in headless Chromium against the live server: a streamed, cited answer,
quick replies, the handoff to a human agent and the agent's messages, large text, keyboard use,
reload, a new conversation, a failing server, and text that must never become HTML."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, MOBILE, LiveServer

BULKY = "대형폐기물은 어떻게 신고하나요?"
UNKNOWN = "화성 이주 신청은 어떻게 하나요?"


def saved(page: Page) -> dict[str, Any]:
    """The page's saved state for its tab (``sessionId``, ``cursor``, ``status``, ``items``)."""
    raw = page.evaluate("() => window.sessionStorage.getItem('dasan.chat.v1')")
    return json.loads(raw) if raw else {}


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("질문 입력")
    box.fill(text)
    box.press("Enter")


def replies(page: Page) -> Any:
    return page.locator("#log .msg.assistant:not(.error)")


def test_a_citizen_gets_a_streamed_cited_answer(new_page: Callable[..., Page], artifacts_dir: Path) -> None:
    page = new_page(DESKTOP)
    streamed: list[str] = []
    page.on("request", lambda request: streamed.append(request.url) if "/v1/chat" in request.url else None)
    page.goto("/")
    expect(page).to_have_title("서울시 120 다산콜센터 상담 도우미")
    assert page.locator("html").get_attribute("lang") == "ko"
    expect(page.get_by_role("heading", name="안녕하세요! 무엇을 도와드릴까요?")).to_be_visible()

    # Keyboard only: tab from the top of the page to the input, type, Enter.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "message-input":
            break
    assert page.evaluate("() => document.activeElement.id") == "message-input"
    page.keyboard.type(BULKY)
    page.keyboard.press("Enter")

    expect(page.locator("#log .msg.user .bubble")).to_have_text(BULKY)
    reply = replies(page).last
    expect(reply.locator(".bubble")).to_contain_text("대형폐기물로 신고")
    expect(reply.locator(".bubble")).not_to_have_attribute("aria-busy", "true")
    assert any(url.endswith("/v1/chat/stream") for url in streamed)
    assert not any(url.endswith("/v1/chat") for url in streamed), "the stream should not need the fallback"

    source = reply.locator(".sources a").first
    expect(source).to_contain_text("[1] 대형폐기물은 어떻게 신고하고 버리나요?")
    assert source.get_attribute("href") == "https://www.seoul.go.kr/"
    assert source.get_attribute("target") == "_blank"
    assert "noopener" in (source.get_attribute("rel") or "")
    marker = reply.locator(".bubble a.cite-ref").first
    expect(marker).to_have_text("[1]")
    anchor = marker.get_attribute("href") or ""
    assert anchor.startswith("#") and page.locator(anchor).count() == 1
    marker.click()
    expect(page.locator(f"{anchor}:target")).to_have_count(1)
    expect(page.get_by_label("질문 입력")).to_have_value("")
    page.screenshot(path=str(artifacts_dir / "chat-desktop.png"))


def test_quick_reply_handoff_and_an_agents_message(
    new_page: Callable[..., Page], agent_says: Callable[[str, str], None], artifacts_dir: Path
) -> None:
    page = new_page(MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto("/")
    ask(page, UNKNOWN)
    offer = page.get_by_role("button", name="상담원 연결")
    expect(offer).to_be_visible()
    banner = page.get_by_role("status")
    expect(banner).to_have_text("")

    offer.click()
    expect(page.locator("#log .msg.user .bubble").last).to_have_text("상담원 연결")
    expect(replies(page).last).to_contain_text("상담원에게 연결해 드릴게요")
    expect(banner).to_contain_text("상담원에게 연결하고 있어요…")
    expect(page.get_by_role("button", name="챗봇으로 돌아가기")).to_be_visible()
    expect(page.get_by_role("button", name="상담원 연결")).to_have_count(0)  # old quick replies are gone
    expect(page.get_by_label("질문 입력")).to_be_focused()

    session_id = saved(page)["sessionId"]
    agent_says(session_id, "안녕하세요, 120 상담사 김다산이에요. 무엇을 도와드릴까요?")
    agent = page.locator("#log .msg.agent")
    expect(agent.locator(".bubble")).to_have_text("안녕하세요, 120 상담사 김다산이에요. 무엇을 도와드릴까요?")
    expect(agent.locator(".who")).to_have_text("상담사")
    expect(banner).to_contain_text("상담원과 대화 중")
    expect(page.locator("#log .msg")).to_have_count(5)  # no reply shown twice by the poll
    page.screenshot(path=str(artifacts_dir / "chat-mobile-agent.png"))

    page.reload()
    expect(page.locator("#log .msg.agent .bubble")).to_have_count(1)
    expect(page.get_by_role("status")).to_contain_text("상담원과 대화 중")
    agent_says(session_id, "신청 방법을 문자로도 보내 드릴게요.")
    expect(page.locator("#log .msg.agent .bubble").last).to_have_text("신청 방법을 문자로도 보내 드릴게요.")
    assert saved(page)["sessionId"] == session_id


def test_large_text_grows_and_is_remembered(new_page: Callable[..., Page], artifacts_dir: Path) -> None:
    page = new_page(MOBILE, is_mobile=True, has_touch=True)
    page.goto("/")

    def size(selector: str) -> float:
        return float(page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)"))

    before = size("#welcome p")
    toggle = page.get_by_role("button", name="큰 글씨")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    after = size("#welcome p")
    assert after >= before * 1.2, (before, after)

    ask(page, "여권은 어디서 어떻게 만들 수 있나요?")
    expect(replies(page).last.locator(".sources a")).to_contain_text("여권")
    page.screenshot(path=str(artifacts_dir / "chat-mobile-large.png"))
    page.reload()
    expect(page.get_by_role("button", name="큰 글씨")).to_have_attribute("aria-pressed", "true")
    assert size("#welcome p") == after
    expect(replies(page).last.locator(".sources a")).to_contain_text("여권")  # the conversation continues

    page.get_by_role("button", name="큰 글씨").click()
    page.reload()
    assert size("#welcome p") == before


def test_reload_continues_and_new_chat_starts_over(
    new_page: Callable[..., Page], live_server: LiveServer
) -> None:
    page = new_page()
    page.goto("/")
    page.get_by_role("button", name="따릉이 이용권 요금은 얼마예요?").click()
    expect(replies(page).last.locator(".sources a")).to_contain_text("따릉이")
    first = saved(page)["sessionId"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,128}", first)

    page.reload()
    expect(page.locator("#log .msg")).to_have_count(2)
    ask(page, "따릉이는 어떻게 빌리나요?")
    expect(replies(page)).to_have_count(2)
    expect(replies(page).last.locator(".bubble")).not_to_have_attribute("aria-busy", "true")
    assert saved(page)["sessionId"] == first
    response = page.request.get(f"/v1/chat/{first}/messages?after=0")
    assert response.ok
    assert [m["role"] for m in response.json()["messages"]] == ["assistant", "assistant"]

    page.get_by_role("button", name="새 대화").click()
    expect(page.locator("#log .msg")).to_have_count(0)
    expect(page.get_by_label("질문 입력")).to_be_focused()
    ask(page, BULKY)
    expect(replies(page)).to_have_count(1)
    expect(replies(page).last.locator(".bubble")).not_to_have_attribute("aria-busy", "true")
    assert saved(page)["sessionId"] != first


def test_a_failing_server_gets_a_korean_error_and_a_retry(new_page: Callable[..., Page]) -> None:
    page = new_page(allowed_errors=("net::ERR_FAILED", "status of 503"))
    page.goto("/")
    page.route("**/v1/chat/stream", lambda route: route.abort())
    page.route("**/v1/chat", lambda route: route.fulfill(status=503, body="{}"))
    ask(page, BULKY)
    error = page.get_by_role("alert")
    expect(error).to_contain_text("죄송해요. 지금은 답변을 드리지 못했어요")
    expect(page.locator("#log .msg.user")).to_have_count(1)

    page.unroute("**/v1/chat/stream")
    page.unroute("**/v1/chat")
    sent: list[dict[str, Any]] = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/v1/chat/stream") else None)
    page.get_by_role("button", name="다시 시도").click()
    expect(replies(page).last.locator(".sources a")).to_have_count(1)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator("#log .msg.user")).to_have_count(1)  # the retry does not repeat the question
    assert sent and sent[0]["message_id"].startswith("web-") and sent[0]["text"] == BULKY


def test_the_stream_falls_back_to_the_plain_api(new_page: Callable[..., Page]) -> None:
    page = new_page(allowed_errors=("net::ERR_FAILED",))
    page.goto("/")
    page.route("**/v1/chat/stream", lambda route: route.abort())
    ask(page, BULKY)
    expect(replies(page).last.locator(".sources a")).to_have_count(1)
    expect(page.get_by_role("alert")).to_have_count(0)


def test_text_is_never_html(new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto("/")
    hostile = '<img src=x onerror="window.__pwned=1"><b>굵게</b>'
    ask(page, hostile)
    expect(page.locator("#log .msg.user .bubble")).to_have_text(hostile)
    expect(replies(page)).to_have_count(1)
    expect(replies(page).last.locator(".bubble")).not_to_have_attribute("aria-busy", "true")
    assert page.locator("#log img, #log b").count() == 0
    assert page.evaluate("() => window.__pwned") is None
