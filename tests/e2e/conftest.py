"""End-to-end harness: the real app served by uvicorn on loopback, driven by Debian's headless Chromium.

Fixtures (see tests/e2e/README.md for examples):

- ``live_server`` (session): a ``LiveServer`` over real services (lexical index of the bundled sample
  FAQ, no LLM so answers are extractive and cited, SQLite in a temp dir, admin token
  ``E2E_ADMIN_TOKEN``). ``live_server.url("/path")``, ``live_server.services``, and
  ``live_server.run(async_fn)`` to await something on the server's own event loop (the services'
  engines and locks live there; never await them from another loop).
- ``agent_says`` (session): ``agent_says(session_id, text)`` appends an agent's message to a web
  conversation through the real dialogue manager (``AgentMessage``), as the copilot will.
- ``browser`` (package): Playwright's sync ``Browser`` on ``/usr/bin/chromium`` (never downloaded).
  While it is open the test thread has a running event loop, so e2e tests are plain (not async)
  functions and reach the server's services through ``live_server.run``.
- ``new_page`` (function): ``new_page(viewport=(390, 844), **context_options)`` opens a fresh context
  (own storage) and page; every page fails the test at teardown if it logged a JavaScript error or a
  CSP violation. ``page`` is ``new_page()`` at a desktop size.
- ``artifacts_dir`` (session): where screenshots go (``$DASAN_E2E_ARTIFACTS`` or a temp dir).

``start_live_server(settings)`` is the context manager behind ``live_server``, for a test that needs
a server with other settings.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from assistant.app.http import create_app
from assistant.app.services import Services, build_services, sample_knowledge_dir
from assistant.app.settings import Settings
from assistant.core.events import AgentMessage, ConversationKey, MessageId
from assistant.core.replies import Capabilities
from assistant.ingest.progress import SilentProgress
from connectors.folder import FolderConnector

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
E2E_ADMIN_TOKEN = "e2e-admin-token-0123456789"
STARTUP_TIMEOUT_S = 30.0
DESKTOP = (1280, 800)
MOBILE = (390, 844)


@dataclass
class LiveServer:
    """A running app: its base URL, its services, and a door into its event loop."""

    base_url: str
    services: Services
    loop: asyncio.AbstractEventLoop

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def run(self, work: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        """Runs ``work()`` on the server's loop and returns its result (raising what it raised)."""

        async def call() -> T:
            return await work()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)


@dataclass
class _Serving:
    started: Future[LiveServer] = field(default_factory=Future)
    server: uvicorn.Server | None = None


def e2e_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings of the e2e server: lexical retrieval, no model, SQLite under ``data_dir``."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "embedding": {"backend": "none"},
        "retrieval": {"mode": "lexical"},
        "llm": {"backend": "none"},
        "database": {"url": f"sqlite+aiosqlite:///{data_dir / f'e2e-{uuid.uuid4().hex}.sqlite3'}"},
        "server": {"admin_token": E2E_ADMIN_TOKEN},
        **overrides,
    }
    return Settings(**values)


@contextmanager
def start_live_server(settings: Settings) -> Iterator[LiveServer]:
    """Builds services from ``settings`` and serves ``create_app(services)`` on 127.0.0.1 (a free port)
    in a background thread with its own event loop; waits for ``/healthz``; stops and closes on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    serving = _Serving()

    async def serve() -> None:
        services = await build_services(settings)
        try:
            config = uvicorn.Config(
                create_app(services), log_level="warning", lifespan="on", timeout_graceful_shutdown=2
            )
            serving.server = uvicorn.Server(config)
            live = LiveServer(f"http://127.0.0.1:{port}", services, asyncio.get_running_loop())
            serving.started.set_result(live)
            await serving.server.serve(sockets=[sock])
        finally:
            await services.aclose()

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # the test thread must hear why the server died
            if not serving.started.done():
                serving.started.set_exception(exc)
            raise

    thread = threading.Thread(target=main, name="e2e-uvicorn", daemon=True)
    thread.start()
    try:
        live = serving.started.result(STARTUP_TIMEOUT_S)
        _wait_healthy(live.url("/healthz"), thread)
        yield live
    finally:
        if serving.server is not None:
            serving.server.should_exit = True
        thread.join(STARTUP_TIMEOUT_S)
        sock.close()
    if thread.is_alive():
        raise RuntimeError("the e2e server did not stop")


def _wait_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the e2e server stopped during startup")
        try:
            if httpx.get(url, timeout=1.0, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the e2e server did not answer {url} within {STARTUP_TIMEOUT_S} s")


@pytest.fixture(scope="session")
def e2e_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding a lexical index of the bundled sample FAQ, built once per run."""
    data_dir = tmp_path_factory.mktemp("e2e") / "data"
    folder = data_dir.parent / "kb"
    folder.mkdir(parents=True)
    faq = (sample_knowledge_dir() / "faq.jsonl").read_text(encoding="utf-8")
    (folder / "faq.jsonl").write_text(faq, encoding="utf-8")

    async def ingest() -> None:
        services = await build_services(e2e_settings(data_dir))
        try:
            await services.ingest_pipeline(dense=False).run(
                [FolderConnector(folder, source="sample")], SilentProgress()
            )
        finally:
            await services.aclose()

    _run_apart(ingest)
    return data_dir


def _run_apart(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """``asyncio.run(work())`` in a thread of its own: Playwright's sync API may own this thread's loop."""
    failure: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(work())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=main, name="e2e-setup")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@pytest.fixture(scope="session")
def live_server(e2e_data_dir: Path) -> Iterator[LiveServer]:
    with start_live_server(e2e_settings(e2e_data_dir)) as live:
        yield live


@pytest.fixture(scope="session")
def agent_says(live_server: LiveServer) -> Callable[[str, str], None]:
    """``agent_says(session_id, text)``: a 120 agent writes to the citizen of web conversation
    ``session_id`` through the dialogue manager (status becomes ``agent``)."""

    def say(session_id: str, text: str) -> None:
        services = live_server.services

        async def send() -> None:
            message = AgentMessage(
                key=ConversationKey("web", session_id),
                message_id=MessageId(f"agent-{uuid.uuid4().hex}"),
                received_at=services.clock.now(),
                agent_id="agent-e2e",
                text=text,
            )
            await (await services.dialogue()).respond(message, Capabilities())

        live_server.run(send)

    return say


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots and other artifacts: ``$DASAN_E2E_ARTIFACTS`` if set, else a temp dir."""
    chosen = os.environ.get("DASAN_E2E_ARTIFACTS")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("e2e-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless Chromium from Debian (``make test`` installs it); Playwright never downloads one.

    Package-scoped on purpose: while Playwright's sync API is active it owns an event loop in the
    test thread, so ``asyncio.run`` (and async tests) would fail; it must stop before the rest of the
    suite runs. E2e tests are therefore plain functions; await server-side work via ``live_server.run``.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Run `make test`, which "
            "installs it (apt-get install chromium fonts-noto-cjk), or install it yourself.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(live_server: LiveServer, browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens pages in fresh contexts (own cookies and storage) with ``base_url`` set to the live server;
    requests anywhere else are aborted. Fails the test if a page logged a JavaScript error, a failed
    load or a Content-Security-Policy violation, unless the console text contains one of
    ``allowed_errors`` (for a test that breaks the network on purpose)."""
    contexts: list[Any] = []
    problems: list[str] = []

    def open_page(
        viewport: tuple[int, int] = DESKTOP, *, allowed_errors: tuple[str, ...] = (), **options: Any
    ) -> Any:
        width, height = viewport
        context = browser.new_context(
            base_url=live_server.base_url,
            viewport={"width": width, "height": height},
            locale="ko-KR",
            **options,
        )
        context.set_default_timeout(5000)
        # Loopback only: a click on a source link (an external site) must not leave the machine.
        context.route(lambda url: not url.startswith(live_server.base_url), lambda route: route.abort())
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

        def console(message: Any) -> None:
            if message.type == "error" and not any(part in message.text for part in allowed_errors):
                problems.append(f"console {message.type}: {message.text}")

        page.on("console", console)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, "the page logged errors:\n" + "\n".join(problems)


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()
