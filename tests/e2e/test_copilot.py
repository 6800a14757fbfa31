"""The agent copilot in headless Chromium against the live server, next to a citizen on the web chat:
an account made with ``dasan users create``, the login redirect, the live list, a cited suggestion,
insert, feedback, a takeover message the citizen sees, and the narrow sidebar layout."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from assistant.core.events import ConversationKey
from assistant.sessions.feedback import AgentFeedback
from channels.copilot.labels import conversation_label
from tests.e2e.conftest import DESKTOP, LiveServer

QUESTION = "여권은 어디서 어떻게 만들 수 있나요?"
SIDEBAR = (420, 900)
COLD_START_MS = 60_000
SCREENSHOTS = Path(os.environ.get("DASAN_COPILOT_SCREENSHOTS", "/tmp"))


@pytest.fixture(scope="module")
def agent_account(live_server: LiveServer) -> tuple[str, str]:
    """An agent made the way an operator makes one: ``dasan users create NAME --role agent`` with the
    password on stdin, against the live server's database."""
    name = f"agent-{uuid.uuid4().hex[:8]}"
    password = f"e2e-{uuid.uuid4().hex}"
    settings = live_server.services.settings
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DASAN_")},
        "DASAN_DATA_DIR": str(settings.data_dir),
        "DASAN_DATABASE__URL": str(settings.database.url),
    }
    created = subprocess.run(
        [
            str(Path(sys.executable).parent / "dasan"),
            "users",
            "create",
            name,
            "--role",
            "agent",
            "--password-stdin",
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    return name, password


def citizen_session(page: Page) -> str:
    raw = page.evaluate("() => window.sessionStorage.getItem('dasan.chat.v1')")
    session_id: str = json.loads(raw)["sessionId"]
    return session_id


def log_in(page: Page, name: str, password: str, *, mistype_first: bool = False) -> None:
    page.goto("/copilot")
    expect(page).to_have_url(re.compile(r"/login\?next=/copilot$"))
    expect(page.get_by_role("heading", name="상담원 로그인")).to_be_visible()
    if mistype_first:
        page.get_by_label("아이디").fill(name)
        page.get_by_label("비밀번호").fill(password + "x")
        page.get_by_role("button", name="로그인").click()
        expect(page.get_by_role("alert")).to_have_text(
            "아이디 또는 비밀번호가 맞지 않아요. 다시 확인해 주세요."
        )
        expect(page.get_by_label("아이디")).to_have_value(name)
        expect(page.get_by_label("비밀번호")).to_be_focused()
        page.screenshot(path=str(SCREENSHOTS / "copilot-login-error.png"))
    page.get_by_label("아이디").fill(name)
    page.get_by_label("비밀번호").fill(password)
    page.get_by_role("button", name="로그인").click()
    expect(page).to_have_url(re.compile(r"/copilot$"))


def feedback_of(live_server: LiveServer, conversation_id: str) -> list[AgentFeedback]:
    async def rows() -> list[AgentFeedback]:
        return await (await live_server.services.feedback()).list_feedback()

    return [f for f in live_server.run(rows) if f.conversation_id == conversation_id]


def test_an_agent_suggests_inserts_and_takes_over_a_citizens_chat(
    new_page: Callable[..., Page], live_server: LiveServer, agent_account: tuple[str, str]
) -> None:
    citizen = new_page(DESKTOP)
    citizen.goto("/")
    box = citizen.get_by_label("질문 입력")
    box.fill(QUESTION)
    box.press("Enter")
    answer = citizen.locator("#log .msg.assistant:not(.error)").last
    # The first turn on a fresh server builds the dialogue and loads the Korean analyzer: seconds.
    expect(answer.locator(".sources a").first).to_contain_text("여권", timeout=COLD_START_MS)
    session_id = citizen_session(citizen)
    conversation_id = f"web:{session_id}"
    label = conversation_label(ConversationKey("web", session_id))

    # A second browser context (its own cookies). The mistyped password's answer is an HTTP 401, which
    # Chromium logs as a failed load.
    agent = new_page(DESKTOP, allowed_errors=("status of 401",))
    name, password = agent_account
    log_in(agent, name, password, mistype_first=True)
    expect(agent.locator("#who-name")).to_have_text(name)
    expect(agent.locator("#who-role")).to_have_text("상담원")

    row = agent.locator("#conversation-list button.conversation", has_text=label)
    expect(row).to_be_visible(timeout=10_000)  # the list polls every 2 s
    expect(row.locator(".preview")).not_to_be_empty()
    assert session_id not in (agent.locator("#conversation-list").text_content() or "")
    row.focus()
    agent.keyboard.press("Enter")  # keyboard: the row is a button
    expect(row).to_have_attribute("aria-current", "true")
    expect(agent.locator("#detail-title")).to_have_text(label)
    transcript = agent.locator("#transcript")
    expect(transcript.locator(".message.citizen .text")).to_have_text(QUESTION)
    expect(transcript.locator(".message.bot .message-sources a").first).to_contain_text("여권")

    agent.get_by_role("button", name="추천 답변 받기").click()
    suggestion = agent.locator("#assist-text")
    expect(suggestion).to_contain_text("여권")
    source = agent.locator("#assist-sources a").first
    expect(source).to_contain_text("여권")
    assert (source.get_attribute("rel") or "").startswith("noopener")
    expect(agent.locator("#assist-status")).to_have_text("추천 답변이 준비됐어요.")

    agent.get_by_role("button", name="좋아요").click()
    expect(agent.get_by_role("button", name="좋아요")).to_have_attribute("aria-pressed", "true")
    expect(agent.get_by_role("button", name="별로예요")).to_have_attribute("aria-pressed", "false")
    (rated,) = feedback_of(live_server, conversation_id)
    assert rated.rating == "up" and rated.agent == name and rated.question == QUESTION
    assert rated.cited_chunk_ids

    agent.get_by_role("button", name="입력창에 넣기").click()
    compose = agent.get_by_label("시민에게 보낼 메시지")
    expect(compose).to_be_focused()
    inserted = compose.input_value()
    assert "여권" in inserted and not re.search(r"\[\d+\]", inserted)
    assert inserted == re.sub(r"\s?\[\d+\]", "", suggestion.text_content() or "").strip()
    agent.screenshot(path=str(SCREENSHOTS / "copilot-desktop-suggestion.png"))
    agent.get_by_role("button", name="보내기").click()

    expect(transcript.locator(".message.agent .text")).to_have_text(inserted)
    expect(transcript.locator(".message.agent .who")).to_have_text(f"상담원 {name}")
    expect(agent.locator("#detail-status")).to_have_text("상담원 응대")
    expect(compose).to_have_value("")
    expect(row.locator(".badge")).to_have_text("상담원 응대")

    # The citizen's page polls and shows the agent's message.
    expect(citizen.locator("#log .msg.agent .bubble")).to_have_text(inserted, timeout=10_000)
    expect(citizen.get_by_role("status").first).to_contain_text("상담원과 대화 중")
    agent.screenshot(path=str(SCREENSHOTS / "copilot-desktop.png"))
    citizen.screenshot(path=str(SCREENSHOTS / "copilot-citizen-sees-agent.png"))


def test_the_copilot_works_as_a_narrow_sidebar(
    new_page: Callable[..., Page], live_server: LiveServer, agent_account: tuple[str, str]
) -> None:
    citizen = new_page(DESKTOP)
    citizen.goto("/")
    box = citizen.get_by_label("질문 입력")
    box.fill("상담원 연결해 주세요")
    box.press("Enter")
    expect(citizen.get_by_role("status").first).to_contain_text(
        "상담원에게 연결하고 있어요", timeout=COLD_START_MS
    )
    label = conversation_label(ConversationKey("web", citizen_session(citizen)))

    agent = new_page(SIDEBAR)
    log_in(agent, *agent_account)
    list_pane = agent.locator(".list-pane")
    row = agent.locator("#conversation-list button.conversation", has_text=label)
    expect(row).to_be_visible(timeout=10_000)
    expect(row.locator(".badge")).to_have_text("상담원 연결 대기")
    first = agent.locator("#conversation-list button.conversation").first
    expect(first).to_have_class(re.compile(r"needs-human"))  # waiting citizens come first
    _fits(agent)
    agent.screenshot(path=str(SCREENSHOTS / "copilot-sidebar-list.png"))

    row.click()
    expect(list_pane).to_be_hidden()
    expect(agent.locator("#transcript .note.handoff")).to_contain_text("[상담 요약]")
    expect(agent.get_by_role("button", name="← 목록")).to_be_visible()
    _fits(agent)
    agent.screenshot(path=str(SCREENSHOTS / "copilot-sidebar-detail.png"))
    agent.get_by_role("button", name="추천 답변 받기").click()
    expect(agent.locator("#assist-result")).to_be_visible(timeout=COLD_START_MS)  # maybe the first answer
    expect(agent.locator("#assist-text")).not_to_be_empty()
    expect(agent.get_by_role("button", name="입력창에 넣기")).to_be_visible()
    _fits(agent)
    agent.screenshot(path=str(SCREENSHOTS / "copilot-sidebar-suggestion.png"))
    agent.set_viewport_size({"width": 900, "height": 800})  # between the sidebar and the wide layout
    expect(list_pane).to_be_visible()
    expect(agent.locator("#assist-text")).to_be_visible()
    _fits(agent)
    agent.screenshot(path=str(SCREENSHOTS / "copilot-medium.png"))
    agent.set_viewport_size({"width": SIDEBAR[0], "height": SIDEBAR[1]})
    agent.get_by_role("button", name="← 목록").click()
    expect(list_pane).to_be_visible()
    expect(row).to_be_focused()

    agent.get_by_role("button", name="로그아웃").click()
    expect(agent).to_have_url(re.compile(r"/login\?bye=1$"))
    expect(agent.get_by_role("status")).to_have_text("로그아웃했어요.")
    agent.screenshot(path=str(SCREENSHOTS / "copilot-logged-out-sidebar.png"))
    agent.goto("/copilot")
    expect(agent).to_have_url(re.compile(r"/login\?next=/copilot$"))


def _fits(page: Page) -> None:
    """Nothing scrolls sideways at this width."""
    overflow: Any = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the window"
