"""The JSON shape of an answer, shared by `dasan ask --json` and ``POST /v1/ask``."""

from __future__ import annotations

from typing import Any

from assistant.answering.answer import Answer


def answer_json(answer: Answer) -> dict[str, Any]:
    """``{"answer", "mode", "citations": [{"n", "chunk_id", "title", "source", "url"}], "latency_ms":
    {"retrieve", "generate", "verify", "total"}, "prompt_version"}``."""
    return {
        "answer": answer.text,
        "mode": answer.mode,
        "citations": [
            {"n": c.n, "chunk_id": c.chunk_id, "title": c.title, "source": c.source, "url": c.url}
            for c in answer.citations
        ],
        "latency_ms": answer.latency_ms.as_dict(),
        "prompt_version": answer.prompt_version,
    }
