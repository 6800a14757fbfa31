"""IngestState: atomic per-document commits, generations, vector cache and stable iteration."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.errors import StorageError
from assistant.core.knowledge import Chunk, Document, DocumentId, Section, chunk_id_for, fingerprint_of
from assistant.ingest.state import EncodedChunk, IngestState, text_hash


def _document(doc_id: str, text: str, source: str = "s") -> Document:
    sections = (Section("", text),)
    return Document(
        document_id=DocumentId(doc_id),
        source=source,
        title=doc_id,
        sections=sections,
        fingerprint=fingerprint_of(title=doc_id, sections=sections),
        origin=f"{doc_id}.txt",
    )


def _encoded(doc: Document, texts: list[str], dense: bool = True) -> list[EncodedChunk]:
    return [
        EncodedChunk(
            chunk=Chunk(
                chunk_id=chunk_id_for(doc.document_id, i),
                document_id=doc.document_id,
                ordinal=i,
                source=doc.source,
                title=doc.title,
                section="",
                text=text,
                metadata={"district": "강남구"},
            ),
            terms={i + 1: 2, 99: 1},
            dense=(0.5, 0.25) if dense else None,
        )
        for i, text in enumerate(texts)
    ]


def test_replace_then_read_back_in_stable_order(tmp_path: Path) -> None:
    state = IngestState(tmp_path / "state.sqlite3")
    a, b = _document("a", "가"), _document("b", "나")
    state.replace_documents([(a, _encoded(a, ["하나", "둘"])), (b, _encoded(b, ["셋"]))])
    assert state.generation == 1
    assert state.counts() == (2, 3)
    batches = list(state.iter_chunks(batch_size=2))
    assert [len(batch) for batch in batches] == [2, 1]
    flat = [item for batch in batches for item in batch]
    assert [item.chunk.chunk_id for item in flat] == sorted(item.chunk.chunk_id for item in flat)
    first = next(item for item in flat if item.chunk.text == "하나")
    assert first.terms == {1: 2, 99: 1}
    assert first.dense == (0.5, 0.25)
    assert first.chunk.metadata == {"district": "강남구"}
    assert state.average_terms() == 3.0


def test_replacing_a_document_drops_its_old_chunks(tmp_path: Path) -> None:
    state = IngestState(tmp_path / "state.sqlite3")
    a = _document("a", "가")
    state.replace_documents([(a, _encoded(a, ["하나", "둘", "셋"]))])
    state.replace_documents([(a, _encoded(a, ["넷"]))])
    texts = [item.chunk.text for batch in state.iter_chunks() for item in batch]
    assert texts == ["넷"]
    assert state.generation == 2


def test_fingerprints_are_scoped_by_source_and_delete_bumps_generation(tmp_path: Path) -> None:
    state = IngestState(tmp_path / "state.sqlite3")
    a, b = _document("a", "가", source="one"), _document("b", "나", source="two")
    state.replace_documents([(a, _encoded(a, ["x"])), (b, _encoded(b, ["y"]))])
    assert set(state.fingerprints("one")) == {"a"}
    state.delete_documents(["a"])
    assert state.fingerprints("one") == {}
    assert state.counts() == (1, 1)
    assert state.generation == 2
    state.delete_documents([])
    assert state.generation == 2


def test_cached_vectors_by_text_hash_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    state = IngestState(path)
    a = _document("a", "가")
    items = _encoded(a, ["하나"])
    state.replace_documents([(a, items)])
    state.close()
    reopened = IngestState(path)
    wanted = text_hash(items[0].chunk.indexed_text)
    assert reopened.cached_vectors([wanted, "missing"]) == {wanted: (0.5, 0.25)}


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    state = IngestState(tmp_path / "state.sqlite3")
    a = _document("a", "가")
    items = _encoded(a, ["하나"])
    duplicate = [items[0], items[0]]  # same chunk id twice violates the primary key
    with pytest.raises(StorageError, match="UNIQUE"):
        state.replace_documents([(a, duplicate)])
    assert state.counts() == (0, 0)
    assert state.generation == 0
