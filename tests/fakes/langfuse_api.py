"""FakeLangfuseApi: the Langfuse public API the SDK's dataset and experiment calls use, on 127.0.0.1.

It extends ``FakeLangfuseReceiver`` (OTLP spans on ``/api/public/otel/v1/traces`` and score batches on
``/api/public/scores``) with what langfuse v5 sends when it publishes datasets and runs experiments:

- ``GET /api/public/projects``: one project (``PROJECT_ID``), from which the SDK derives experiment ids;
- ``POST /api/public/v2/datasets``: a dataset, upserted by name and answered as a ``Dataset``;
- ``POST /api/public/dataset-items``: an item, upserted by id and answered as a ``DatasetItem``.

Requests must carry HTTP basic auth with the configured keys (401 otherwise, as Langfuse answers).
Bodies are stored as the SDK sent them (``datasets``, ``items``, in arrival order: ``item_posts``).
"""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.otlp_receiver import FakeLangfuseReceiver

PROJECT_ID = "project-dasan-eval"
DATASETS_PATH = "/api/public/v2/datasets"
ITEMS_PATH = "/api/public/dataset-items"
PROJECTS_PATH = "/api/public/projects"
_NOW = "2026-11-25T01:00:00.000Z"


class FakeLangfuseApi(FakeLangfuseReceiver):
    """A local Langfuse (datasets, items, projects, traces, scores). ``fail_datasets`` answers 500."""

    def __init__(self, public_key: str = "pk-lf-eval", secret_key: str = "sk-lf-eval") -> None:
        self.public_key = public_key
        self._auth = "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()
        self.datasets: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.item_posts: list[dict[str, Any]] = []
        self.dataset_posts: list[dict[str, Any]] = []
        self.unauthorized = 0
        self.fail_datasets = False
        super().__init__()

    def _dataset(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["name"]
        known = self.datasets.get(name)
        dataset = {
            "id": known["id"] if known else f"ds-{len(self.datasets) + 1}",
            "name": name,
            "description": body.get("description"),
            "metadata": body.get("metadata"),
            "projectId": PROJECT_ID,
            "createdAt": _NOW,
            "updatedAt": _NOW,
        }
        with self._changed:
            self.dataset_posts.append(body)
            self.datasets[name] = dataset
        return dataset

    def _item(self, body: dict[str, Any]) -> dict[str, Any] | None:
        dataset = self.datasets.get(body.get("datasetName", ""))
        if dataset is None:
            return None
        item = {
            "id": body["id"],
            "status": body.get("status") or "ACTIVE",
            "input": body.get("input"),
            "expectedOutput": body.get("expectedOutput"),
            "metadata": body.get("metadata"),
            "sourceTraceId": None,
            "sourceObservationId": None,
            "datasetId": dataset["id"],
            "datasetName": dataset["name"],
            "createdAt": _NOW,
            "updatedAt": _NOW,
            "version": _NOW,
            "mediaReferences": [],
        }
        with self._changed:
            self.item_posts.append(body)
            self.items[body["id"]] = item
        return item

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self
        base: Any = super()._handler_class()

        class Handler(base):  # type: ignore[misc,valid-type]
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms ACK wait

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == api._auth:
                    return True
                api.unauthorized += 1
                self._answer(401, b'{"message": "Invalid credentials"}', "application/json")
                return False

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path != PROJECTS_PATH:
                    super().do_GET()
                elif self._authorized():
                    project = {
                        "id": PROJECT_ID,
                        "name": "dasan",
                        "organization": {"id": "org-1", "name": "Seoul"},
                        "metadata": {},
                    }
                    self._json(200, {"data": [project]})

            def do_POST(self) -> None:
                path = self.path.split("?", 1)[0]
                if path not in (DATASETS_PATH, ITEMS_PATH):
                    super().do_POST()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self._authorized():
                    return
                if path == DATASETS_PATH:
                    if api.fail_datasets:
                        self._json(500, {"message": "Internal Server Error"})
                    else:
                        self._json(200, api._dataset(body))
                    return
                item = api._item(body)
                if item is None:
                    self._json(404, {"message": f"Dataset {body.get('datasetName')!r} not found"})
                else:
                    self._json(200, item)

            def _json(self, status: int, payload: object) -> None:
                self._answer(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

        return Handler
