"""FakeLangfuseReceiver: a local Langfuse ingestion endpoint that decodes OTLP spans for assertions.

It speaks the wire protocol the ``langfuse`` SDK uses against a self-hosted Langfuse:

- ``POST /api/public/otel/v1/traces``: an OTLP/HTTP ``ExportTraceServiceRequest`` in protobuf
  (``Content-Type: application/x-protobuf``), gzip-compressed when ``Content-Encoding: gzip``. It is
  decoded with ``opentelemetry-proto`` and every span is stored as a ``ReceivedSpan``; the answer is an
  empty ``ExportTraceServiceResponse``.
- ``POST /api/public/scores``: a JSON array of scores; answered ``202 {"message": "Accepted"}``.

Anything else is answered 404 and recorded in ``unexpected``. ``hold()`` makes every request wait until
``release()`` (a slow or hung Langfuse), so a test can prove that a request path never waits on export;
``arrivals`` counts requests as they reach the server, before that wait.
Waiting is on a condition variable (``wait_for_spans``), never on sleeps.

Usage::

    with FakeLangfuseReceiver() as receiver:
        env = {"LANGFUSE_BASE_URL": receiver.base_url, ...}
        ...
        spans = receiver.wait_for_spans(7)
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

TRACES_PATH = "/api/public/otel/v1/traces"
SCORES_PATH = "/api/public/scores"
_HOLD_LIMIT_S = 30.0


@dataclass(frozen=True, slots=True)
class ReceivedSpan:
    """One decoded span. Ids are lowercase hex; ``parent_span_id`` is None for a root span."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: Mapping[str, Any]
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    event_names: tuple[str, ...]
    scope: str
    resource: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    def json_attribute(self, key: str) -> Any:
        """An attribute the SDK JSON-encodes (input, output, metadata, usage), decoded."""
        raw = self.attributes.get(key)
        return None if raw is None else json.loads(raw)


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request as it arrived; header names are lowercased."""

    path: str
    headers: Mapping[str, str]
    body_bytes: int


def _decode_any(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    match kind:
        case "string_value" | "bool_value" | "int_value" | "double_value" | "bytes_value":
            return getattr(value, kind)
        case "array_value":
            return [_decode_any(v) for v in value.array_value.values]
        case "kvlist_value":
            return {kv.key: _decode_any(kv.value) for kv in value.kvlist_value.values}
        case _:
            return None


class FakeLangfuseReceiver:
    """A threaded HTTP server on 127.0.0.1 (an ephemeral port) that stores what Langfuse would ingest."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.scores: list[dict[str, Any]] = []
        self.requests: list[ReceivedRequest] = []
        self.unexpected: list[str] = []
        self.arrivals = 0
        self._changed = threading.Condition()
        self._gate = threading.Event()
        self._gate.set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-langfuse",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def hold(self) -> None:
        """Make every request wait (a hung Langfuse) until ``release``."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list[ReceivedSpan]:
        """Block until at least ``count`` spans arrived; fails the test on timeout."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.spans) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} spans, received {len(self.spans)}")
            return list(self.spans)

    def wait_for_arrivals(self, count: int, timeout: float = 10.0) -> int:
        """Block until ``count`` requests reached the server (held or not); returns how many did."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.arrivals >= count, timeout=timeout):
                raise AssertionError(f"expected {count} requests, {self.arrivals} arrived")
            return self.arrivals

    def wait_for_scores(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.scores) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} scores, received {len(self.scores)}")
            return list(self.scores)

    def _store_traces(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        decoded: list[ReceivedSpan] = []
        for resource_spans in request.resource_spans:
            resource = {kv.key: _decode_any(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    decoded.append(
                        ReceivedSpan(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex() or None,
                            attributes={kv.key: _decode_any(kv.value) for kv in span.attributes},
                            start_ns=span.start_time_unix_nano,
                            end_ns=span.end_time_unix_nano,
                            status_code=span.status.code,
                            status_message=span.status.message,
                            event_names=tuple(event.name for event in span.events),
                            scope=scope_spans.scope.name,
                            resource=resource,
                        )
                    )
        with self._changed:
            self.spans.extend(decoded)
            self._changed.notify_all()

    def _store_scores(self, body: bytes) -> None:
        payload = json.loads(body)
        with self._changed:
            self.scores.extend(payload if isinstance(payload, list) else [payload])
            self._changed.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                with receiver._changed:
                    receiver.arrivals += 1
                    receiver._changed.notify_all()
                receiver._gate.wait(timeout=_HOLD_LIMIT_S)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding", "").lower() == "gzip":
                    body = gzip.decompress(body)
                path = self.path.split("?", 1)[0]
                with receiver._changed:
                    receiver.requests.append(
                        ReceivedRequest(path, {k.lower(): v for k, v in self.headers.items()}, length)
                    )
                if path == TRACES_PATH:
                    receiver._store_traces(body)
                    self._answer(
                        200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"
                    )
                elif path == SCORES_PATH:
                    receiver._store_scores(body)
                    self._answer(202, b'{"message": "Accepted"}', "application/json")
                else:
                    receiver.unexpected.append(f"POST {path}")
                    self._answer(404, b"{}", "application/json")

            def do_GET(self) -> None:
                receiver.unexpected.append(f"GET {self.path}")
                self._answer(404, b"{}", "application/json")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
