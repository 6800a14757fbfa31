"""JSON and JSONL: FAQ objects become prose documents; a broken line is a problem, not the end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from connectors.folder import FolderConnector
from connectors.table_mapping import TableMappings

FAQ = [
    {
        "id": "faq-001",
        "question": "대형폐기물은 어떻게 버리나요?",
        "answer": "구청 누리집에서 신고하고 수수료를 낸 뒤 배출합니다.",
        "category": "생활폐기물",
        "url": "https://example.go.kr/faq/1",
        "updated_at": "2025-03-01",
        "priority": 2,
        "tags": ["폐기물"],
    },
    {
        "id": "faq-002",
        "question": "여권 발급 장소는?",
        "answer": "구청 여권민원실입니다.",
        "updated_at": None,
    },
]


def _jsonl(items: list[object]) -> str:
    return "\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n"


def test_jsonl_faq_maps_question_answer_and_fields(tmp_path: Path, scan) -> None:
    (tmp_path / "faq.jsonl").write_text(_jsonl(FAQ), encoding="utf-8")

    result = scan(FolderConnector(tmp_path, source="sample"))

    assert result.problems == []
    first, second = result.documents
    assert first.document_id == "sample/faq.jsonl#faq-001"
    assert first.title == "대형폐기물은 어떻게 버리나요?"
    assert [(s.heading, s.text) for s in first.sections] == [
        ("", "구청 누리집에서 신고하고 수수료를 낸 뒤 배출합니다.")
    ]
    assert first.kind == "prose"
    assert first.category == "생활폐기물"
    assert first.url == "https://example.go.kr/faq/1"
    assert first.updated_at == datetime(2025, 2, 28, 15, 0, tzinfo=UTC)  # midnight KST
    assert first.metadata == {"priority": "2"}  # other scalars; the list is left out
    assert second.updated_at is None
    assert second.category is None


def test_broken_jsonl_line_is_a_problem_with_its_line_number(tmp_path: Path, scan) -> None:
    lines = _jsonl(FAQ[:1]) + '{"id": "x", "question": "끊긴 줄\n' + "\n" + "[1, 2]\n" + _jsonl(FAQ[1:])
    (tmp_path / "faq.jsonl").write_text(lines, encoding="utf-8")

    result = scan(FolderConnector(tmp_path))

    assert [d.metadata.get("priority") for d in result.documents] == ["2", None]
    assert [(p.row, p.location) for p in result.problems] == [(2, "faq.jsonl"), (4, "faq.jsonl")]
    assert "invalid JSON line" in result.problems[0].reason
    assert "not an object" in result.problems[1].reason


def test_json_array_and_object_holding_an_array(tmp_path: Path, scan) -> None:
    (tmp_path / "a.json").write_text(json.dumps(FAQ, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b.json").write_text(
        json.dumps({"count": 2, "items": FAQ}, ensure_ascii=False), encoding="utf-8"
    )

    result = scan(FolderConnector(tmp_path, source="s"))

    assert [d.document_id for d in result.documents] == [
        "s/a.json#faq-001",
        "s/a.json#faq-002",
        "s/b.json#faq-001",
        "s/b.json#faq-002",
    ]


def test_objects_without_text_become_records_and_ids_fall_back_to_position(tmp_path: Path, scan) -> None:
    rows = [{"parking_name": "개화산역(시)", "que_status_nm": "연계", "capacity": 310, "lat": 37.57}]
    (tmp_path / "parks.json").write_text(json.dumps({"GetParkInfo": {"row": rows}}), encoding="utf-8")

    [doc] = scan(FolderConnector(tmp_path, source="s")).documents

    assert doc.kind == "record"
    assert doc.title == "개화산역(시)"
    assert (
        doc.sections[0].text
        == "parking_name: 개화산역(시) · que_status_nm: 연계 · capacity: 310 · lat: 37.57"
    )
    assert doc.document_id == "s/parks.json#1"


def test_mapping_names_the_fields_of_json_objects(tmp_path: Path, scan) -> None:
    items = [{"SEQ": 7, "Q": "질문", "A": "답변", "GU": "강남구"}]
    (tmp_path / "x.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    mappings = TableMappings.model_validate(
        {
            "mappings": [
                {
                    "match": "x.json",
                    "id_columns": ["SEQ"],
                    "title_columns": ["Q"],
                    "text_column": "A",
                    "district_column": "GU",
                }
            ]
        }
    )

    [doc] = scan(FolderConnector(tmp_path, source="s", mappings=mappings)).documents

    assert (doc.document_id, doc.title, doc.sections[0].text) == ("s/x.json#7", "질문", "답변")
    assert doc.metadata == {"district": "강남구"}


def test_malformed_and_empty_json_files_are_problems(tmp_path: Path, scan) -> None:
    (tmp_path / "bad.json").write_text('{"items": [1, 2,,]}', encoding="utf-8")
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    (tmp_path / "scalar.json").write_text("42", encoding="utf-8")

    result = scan(FolderConnector(tmp_path))

    assert result.documents == []
    reasons = {p.location: (p.row, p.reason) for p in result.problems}
    assert reasons["bad.json"][0] == 1
    assert reasons["bad.json"][1].startswith("invalid JSON")
    assert reasons["empty.jsonl"] == (None, "the file is empty")
    assert reasons["scalar.json"] == (None, "expected an array of objects or an object holding one")
