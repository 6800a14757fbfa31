"""Schema and integrity checks of the bundled sample knowledge and the eval datasets."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_DIR = ROOT / "connectors" / "sample_knowledge"
DATASETS = ROOT / "evals" / "datasets"
EASYLAW_DIR = ROOT / ".." / "shared" / "data" / "easylaw"

FEE_HEADER = ["자치구", "품목", "규격", "유무료", "수수료"]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line is one JSON object; blank lines are not allowed (except the final newline)."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), f"{path.name}: missing final newline"
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        assert line.strip(), f"{path.name}:{number}: blank line"
        value = json.loads(line)
        assert isinstance(value, dict), f"{path.name}:{number}: not an object"
        rows.append(value)
    return rows


def non_empty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def squash(text: str) -> str:
    """Lower-cased text without whitespace and punctuation, for near-verbatim comparisons."""
    return re.sub(r"[\W_]+", "", text).lower()


def check_retrieval_rows(rows: list[dict[str, Any]], id_pattern: str) -> None:
    ids = [row.get("id") for row in rows]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    questions = [squash(str(row.get("question"))) for row in rows]
    assert len(questions) == len(set(questions)), "duplicate questions"
    for row in rows:
        assert set(row) == {"id", "question", "expected"}, row
        assert re.fullmatch(id_pattern, row["id"]), row["id"]
        assert non_empty_str(row["question"]), row["id"]
        expected = row["expected"]
        assert isinstance(expected, list) and 1 <= len(expected) <= 3, row["id"]
        pairs = [(e.get("source"), e.get("section")) for e in expected]
        assert len(pairs) == len(set(pairs)), row["id"]
        for entry in expected:
            assert set(entry) == {"source", "section"}, row["id"]
            assert non_empty_str(entry["source"]) and non_empty_str(entry["section"]), row["id"]
            assert squash(row["question"]) != squash(entry["section"]), f"{row['id']}: question is the title"


@pytest.fixture(scope="module")
def faq() -> list[dict[str, Any]]:
    return read_jsonl(SAMPLE_DIR / "faq.jsonl")


@pytest.fixture(scope="module")
def easylaw_cases() -> list[dict[str, Any]]:
    return read_jsonl(DATASETS / "retrieval_easylaw.jsonl")


@pytest.fixture(scope="module")
def sample_cases() -> list[dict[str, Any]]:
    return read_jsonl(DATASETS / "retrieval_sample.jsonl")


def test_faq_entries_are_complete_and_unique(faq: list[dict[str, Any]]) -> None:
    assert 60 <= len(faq) <= 70
    ids = [entry.get("id") for entry in faq]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    questions = [squash(str(entry.get("question"))) for entry in faq]
    assert len(questions) == len(set(questions)), "duplicate FAQ questions"
    for entry in faq:
        assert set(entry) == {"id", "question", "answer", "category", "url", "updated_at"}, entry
        assert all(non_empty_str(entry[key]) for key in entry), entry["id"]
        assert re.fullmatch(r"faq-[a-z0-9]+(-[a-z0-9]+)*", entry["id"]), entry["id"]
        assert entry["url"].startswith("https://"), entry["id"]
        date.fromisoformat(entry["updated_at"])
        assert 60 <= len(entry["answer"]) <= 600, entry["id"]
        assert len(entry["category"]) <= 10, entry["id"]


def test_faq_covers_the_core_topics(faq: list[dict[str, Any]]) -> None:
    categories = Counter(entry["category"] for entry in faq)
    for needed in ("120안내", "대형폐기물", "민원서류", "복지", "교통", "신고", "건강", "세금"):
        assert categories[needed] >= 1, needed
    text = " ".join(entry["answer"] for entry in faq)
    for number in ("120", "119", "112", "129", "109", "1577-0199"):
        assert number in text, number


def test_bulky_waste_fee_table() -> None:
    with (SAMPLE_DIR / "bulky_waste_fees_demo.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    assert header == FEE_HEADER
    assert 30 <= len(rows) <= 40
    keys = [(row[0], row[1], row[2]) for row in rows]
    assert len(keys) == len(set(keys)), "duplicate (자치구, 품목, 규격)"
    for row in rows:
        assert len(row) == len(FEE_HEADER), row
        district, item, size, paid, fee = row
        assert district == "강남구" and item and size, row
        assert re.fullmatch(r"0|[1-9][0-9]*", fee), row
        assert paid in ("유료", "무료"), row
        assert (paid == "무료") == (int(fee) == 0), row
    assert any(row[3] == "무료" for row in rows)


def test_sample_golden_set_points_at_faq_entries(
    faq: list[dict[str, Any]], sample_cases: list[dict[str, Any]]
) -> None:
    check_retrieval_rows(sample_cases, r"sample-\d{3}")
    assert len(sample_cases) == 30
    faq_ids = {entry["id"] for entry in faq}
    faq_questions = {squash(entry["question"]) for entry in faq}
    for case in sample_cases:
        for entry in case["expected"]:
            assert entry["source"] == "sample", case["id"]
            assert entry["section"] in faq_ids, case["id"]
        assert squash(case["question"]) not in faq_questions, f"{case['id']} copies an FAQ question"


def test_easylaw_golden_set_shape(easylaw_cases: list[dict[str, Any]]) -> None:
    check_retrieval_rows(easylaw_cases, r"el-\d{3}")
    assert len(easylaw_cases) >= 60
    guides = {entry["source"] for case in easylaw_cases for entry in case["expected"]}
    assert len(guides) >= 50, "the golden set should spread over many guides"


def test_out_of_scope_questions() -> None:
    rows = read_jsonl(DATASETS / "out_of_scope.jsonl")
    assert len(rows) == 25
    ids = [row.get("id") for row in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert set(row) == {"id", "question", "category"}, row
        assert re.fullmatch(r"oos-\d{3}", row["id"]), row["id"]
        assert non_empty_str(row["question"]) and non_empty_str(row["category"]), row["id"]
    assert len({squash(row["question"]) for row in rows}) == len(rows)


def test_datasets_do_not_share_questions(
    easylaw_cases: list[dict[str, Any]], sample_cases: list[dict[str, Any]]
) -> None:
    oos = read_jsonl(DATASETS / "out_of_scope.jsonl")
    seen: Counter[str] = Counter(
        squash(row["question"]) for group in (easylaw_cases, sample_cases, oos) for row in group
    )
    assert [q for q, n in seen.items() if n > 1] == []


@pytest.mark.skipif(not EASYLAW_DIR.is_dir(), reason="../shared/data/easylaw is not present")
def test_easylaw_expectations_exist_in_the_corpus(easylaw_cases: list[dict[str, Any]]) -> None:
    sections: dict[str, Counter[str]] = {}
    for case in easylaw_cases:
        for entry in case["expected"]:
            source = entry["source"]
            if source not in sections:
                path = EASYLAW_DIR / f"{source}.csv"
                assert path.is_file(), f"{case['id']}: no guide {source!r}"
                with path.open(encoding="utf-8-sig", newline="") as handle:
                    sections[source] = Counter(row["cate2"] for row in csv.DictReader(handle))
            count = sections[source][entry["section"]]
            assert count == 1, f"{case['id']}: {source} / {entry['section']} occurs {count} times"
