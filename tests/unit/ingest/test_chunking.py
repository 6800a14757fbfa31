"""KoreanChunker: sentence packing, overlap, headings, hard splits, records, ids and fused term counts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from assistant.core.knowledge import Chunk, Document, DocumentId, DocumentKind, Section, chunk_id_for
from assistant.ingest.chunking import KoreanChunker, TextUnit, pack_units, render
from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer
from assistant.retrieval.sparse import KiwiSparseEncoder

SENTENCES = [
    "대형폐기물을 버리려면 먼저 구청 누리집에서 배출 신고를 해야 합니다.",
    "신고가 끝나면 수수료를 내고 배출 번호를 받습니다.",
    "배출 번호를 적은 종이를 폐기물에 붙여 지정된 날짜에 내놓습니다.",
    "장롱, 침대, 소파처럼 큰 가구는 품목별 수수료가 다릅니다.",
    "수수료는 구마다 조금씩 다르므로 누리집에서 확인하십시오.",
    "인터넷 신고가 어려우면 주민센터를 방문해 신청할 수도 있습니다.",
]


@pytest.fixture(scope="module")
def analyzer() -> KiwiAnalyzer:
    analyzer = KiwiAnalyzer(num_workers=2)
    analyzer.warm_up()
    return analyzer


@pytest.fixture(scope="module")
def chunker(analyzer: KiwiAnalyzer) -> KoreanChunker:
    return KoreanChunker(analyzer, max_chars=120, overlap_chars=40)


def _document(
    *sections: Section, kind: DocumentKind = "prose", doc_id: str = "doc-1", title: str = "대형폐기물 배출"
) -> Document:
    return Document(
        document_id=DocumentId(doc_id),
        source="guide",
        title=title,
        sections=sections,
        fingerprint="f",
        origin="guide.md",
        kind=kind,
        url="https://example.go.kr/waste",
        category="생활",
        updated_at=datetime(2025, 1, 2, tzinfo=UTC),
        metadata={"district": "강남구"},
    )


def _unit(text: str, *, heading: bool = False, joiner: str = " ") -> TextUnit:
    return TextUnit(text, joiner, heading)


# --- packing, without Kiwi -------------------------------------------------------------------


def test_pack_respects_max_and_overlaps_by_whole_trailing_units() -> None:
    units = [_unit("a" * 30) for _ in range(10)]

    groups = pack_units(units, max_chars=100, overlap_chars=40)

    assert all(len(render(g)) <= 100 for g in groups)
    for previous, current in itertools.pairwise(groups):
        assert current[0] is previous[-1]  # one 30-char unit fits the 40-char overlap, two do not
    assert groups[0][0] is units[0] and groups[-1][-1] is units[-1]


def test_pack_without_overlap_covers_every_unit_once_in_order() -> None:
    units = [_unit(f"s{i}" * (i + 3)) for i in range(12)]

    groups = pack_units(units, max_chars=40, overlap_chars=0)

    assert [u for g in groups for u in g] == units


def test_overlap_never_repeats_a_whole_chunk() -> None:
    units = [_unit("x" * 20), _unit("y" * 90)]

    groups = pack_units(units, max_chars=100, overlap_chars=50)

    assert groups == [(units[0],), (units[1],)]


def test_a_heading_moves_to_the_next_chunk_which_starts_without_overlap() -> None:
    body = [_unit("b" * 40, joiner="\n") for _ in range(2)]
    heading = _unit("신청 방법", heading=True, joiner="\n")
    after = _unit("c" * 60, joiner="\n")

    groups = pack_units([*body, heading, after], max_chars=100, overlap_chars=50)

    assert groups == [tuple(body), (heading, after)]
    assert render(groups[1]) == "신청 방법\n" + "c" * 60


def test_render_keeps_line_breaks_and_drops_the_leading_joiner() -> None:
    units = [_unit("첫째 줄", joiner="\n"), _unit("같은 줄", joiner=" "), _unit("- 항목", joiner="\n")]

    assert render(units) == "첫째 줄 같은 줄\n- 항목"


# --- documents, with Kiwi --------------------------------------------------------------------


def test_prose_chunks_respect_size_keep_sentences_and_overlap(chunker: KoreanChunker) -> None:
    document = _document(Section("신고 방법", " ".join(SENTENCES)))

    chunks = chunker.chunk(document)

    assert len(chunks) > 1
    assert all(len(c.text) <= 120 for c in chunks)
    for chunk in chunks:  # whole sentences only
        assert chunk.text.endswith(".")
        assert any(chunk.text.startswith(s) for s in SENTENCES)
    overlaps = 0
    for previous, current in itertools.pairwise(chunks):
        last_sentence = next(s for s in SENTENCES if previous.text.endswith(s))
        if len(last_sentence) <= 40:
            assert current.text.startswith(last_sentence)
            overlaps += 1
    assert overlaps > 0
    assert {s for s in SENTENCES if any(s in c.text for c in chunks)} == set(SENTENCES)


def test_chunks_carry_ids_headings_and_document_fields(chunker: KoreanChunker) -> None:
    document = _document(
        Section("신고 방법", " ".join(SENTENCES[:4])), Section("수수료", " ".join(SENTENCES[3:]))
    )

    chunks = chunker.chunk(document)

    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert [c.chunk_id for c in chunks] == [chunk_id_for(document.document_id, i) for i in range(len(chunks))]
    assert {c.section for c in chunks} == {"신고 방법", "수수료"}
    first = chunks[0]
    assert first.title == "대형폐기물 배출"
    assert first.indexed_text.startswith("대형폐기물 배출 > 신고 방법\n")
    assert (first.source, first.url, first.category) == ("guide", document.url, "생활")
    assert first.updated_at == document.updated_at
    assert dict(first.metadata) == {"district": "강남구"}
    # No chunk mixes two sections.
    assert all(SENTENCES[5] not in c.text for c in chunks if c.section == "신고 방법")


def test_output_is_deterministic_and_independent_of_batching(chunker: KoreanChunker) -> None:
    one = _document(Section("", "\n".join(SENTENCES)), doc_id="one")
    two = _document(Section("", " ".join(reversed(SENTENCES))), doc_id="two")

    batch = chunker.chunk_batch([one, two])

    assert batch == [chunker.chunk(one), chunker.chunk(two)]
    assert batch == chunker.chunk_batch([one, two])


def test_line_breaks_and_list_items_are_kept(analyzer: KiwiAnalyzer) -> None:
    text = "신청 자격\n다음 중 하나에 해당하는 사람은 신청할 수 있습니다.\n1. 만 65세 이상인 사람\n2. 장애인"
    chunks = KoreanChunker(analyzer).chunk(_document(Section("", text)))

    assert [c.text for c in chunks] == [text]


def test_circled_list_markers_open_their_own_sentence(analyzer: KiwiAnalyzer) -> None:
    text = "① 국가는 주거약자를 지원한다. ② 지방자치단체는 개조비용을 지원한다."
    chunks = KoreanChunker(analyzer, max_chars=30, overlap_chars=0).chunk(_document(Section("", text)))

    assert [c.text for c in chunks] == [
        "① 국가는 주거약자를 지원한다.",
        "② 지방자치단체는 개조비용을 지원한다.",
    ]


def test_a_long_sentence_is_cut_at_spaces_near_the_limit(chunker: KoreanChunker) -> None:
    words = [f"단어{i:03d}" for i in range(100)]  # 6 characters each, no sentence end
    sentence = " ".join(words)

    chunks = chunker.chunk(_document(Section("", sentence)))

    assert len(chunks) > 1
    assert all(60 <= len(c.text) <= 120 for c in chunks[:-1])
    assert " ".join(c.text for c in chunks) == sentence  # cut only at spaces, nothing lost


def test_text_without_spaces_is_cut_at_the_limit(chunker: KoreanChunker) -> None:
    text = "가" * 300

    chunks = chunker.chunk(_document(Section("", text)))

    assert [len(c.text) for c in chunks] == [120, 120, 60]


def test_records_are_one_untouched_chunk_per_section(chunker: KoreanChunker) -> None:
    rows = (Section("장롱", "품목: 장롱\n규격: 120cm 이상\n수수료:  8,000원"), Section("소파", "품목: 소파"))
    document = _document(*rows, kind="record")

    chunks = chunker.chunk(document)

    assert [(c.section, c.text) for c in chunks] == [(s.heading, s.text) for s in rows]


def test_an_oversized_record_is_split(chunker: KoreanChunker) -> None:
    document = _document(Section("긴 행", " ".join(SENTENCES)), kind="record")

    chunks = chunker.chunk(document)

    assert len(chunks) > 1 and all(len(c.text) <= 120 for c in chunks)


def test_empty_sections_and_empty_documents_yield_nothing(chunker: KoreanChunker) -> None:
    sections = (Section("빈 절", "  \n "), Section("내용", SENTENCES[0]))
    assert [c.section for c in chunker.chunk(_document(*sections))] == ["내용"]
    assert chunker.chunk(_document()) == []
    assert chunker.chunk(_document(Section("제목만", ""))) == []
    assert chunker.chunk_batch([]) == []


def test_chunk_and_count_matches_chunks_and_their_indexed_text(
    chunker: KoreanChunker, analyzer: KiwiAnalyzer
) -> None:
    encoder = KiwiSparseEncoder(analyzer)
    documents = [
        _document(Section("신고 방법", "\n".join(SENTENCES))),
        _document(Section("장롱", "품목: 장롱\n수수료: 8000원"), kind="record", doc_id="row"),
    ]

    analyzed = chunker.chunk_and_count(documents, encoder)

    chunks: list[Chunk] = [a.chunk for doc in analyzed for a in doc]
    assert [[a.chunk for a in doc] for doc in analyzed] == chunker.chunk_batch(documents)
    fused = [dict(a.terms) for doc in analyzed for a in doc]
    assert fused == [dict(c) for c in encoder.analyze([c.indexed_text for c in chunks])]


def test_sizes_are_validated(analyzer: KiwiAnalyzer) -> None:
    with pytest.raises(ValueError):
        KoreanChunker(analyzer, max_chars=100, overlap_chars=100)
    with pytest.raises(ValueError):
        KoreanChunker(analyzer, max_chars=0, overlap_chars=0)
