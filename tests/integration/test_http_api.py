"""The HTTP app over real services: health, readiness, the JSON search API and its errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from assistant.app.http import create_app
from assistant.app.services import Services, build_services
from assistant.app.settings import Settings
from assistant.ingest.progress import SilentProgress
from connectors.folder import FolderConnector

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, embedding={"backend": "none"})  # type: ignore[arg-type]


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    built = await build_services(_settings(tmp_path / "data"))
    try:
        yield built
    finally:
        await built.aclose()


async def _ingest(services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    rows = [
        {
            "id": "faq-bike",
            "question": "따릉이 요금은 얼마예요?",
            "answer": "1시간권은 1,000원입니다.",
            "category": "교통",
        },
        {
            "id": "faq-copy",
            "question": "등본은 어디서 떼요?",
            "answer": "정부24에서 무료로 발급합니다.",
            "category": "민원",
        },
    ]
    (folder / "faq.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8"
    )
    await services.ingest_pipeline().run([FolderConnector(folder, source="sample")], SilentProgress())


def _client(services: Services) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services)), base_url="http://test")


async def test_readyz_is_503_until_the_index_is_built(services: Services, tmp_path: Path) -> None:
    async with _client(services) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        before = await client.get("/readyz")
        assert before.status_code == 503
        body = before.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["index"]["ok"] is False
        await _ingest(services, tmp_path)
        after = await client.get("/readyz")
        assert after.status_code == 200
        assert after.json()["checks"]["index"]["ok"] is True


async def test_search_get_and_post(services: Services, tmp_path: Path) -> None:
    await _ingest(services, tmp_path)
    async with _client(services) as client:
        got = await client.get("/v1/search", params={"q": "따릉이 요금", "k": 1})
        assert got.status_code == 200
        [hit] = got.json()["results"]
        assert hit["document_id"].endswith("#faq-bike")
        assert hit["rank"] == 1
        posted = await client.post(
            "/v1/search", json={"query": "등본 발급", "k": 2, "filters": {"category": "민원"}}
        )
        assert posted.status_code == 200
        results = posted.json()["results"]
        assert [r["document_id"].rsplit("#", 1)[1] for r in results] == ["faq-copy"]


async def test_errors_are_json_with_a_code_and_reason(services: Services, tmp_path: Path) -> None:
    async with _client(services) as client:
        unbuilt = await client.get("/v1/search", params={"q": "따릉이"})
        assert unbuilt.status_code == 503
        assert unbuilt.json()["error"]["code"] == "retrieval_unavailable"
        await _ingest(services, tmp_path)
        bad_filter = await client.get("/v1/search", params={"q": "따릉이", "filter": "novalue"})
        assert bad_filter.status_code == 400
        assert bad_filter.json()["error"] == {
            "code": "invalid_request",
            "message": "filter must be key=value, got 'novalue'",
        }
        empty = await client.post("/v1/search", json={"query": ""})
        assert empty.status_code == 422
        assert empty.json()["error"]["code"] == "invalid_request"
        assert empty.json()["error"]["message"].startswith("query:")
