"""Dataset files: kinds from names or headers, validation errors with line numbers, the committed sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.core.errors import SourceError
from evals.datasets import (
    AnswerCase,
    ChannelCase,
    RetrievalCase,
    SafetyCase,
    infer_kind,
    load_dataset,
    load_retrieval_cases,
)

DATASETS = Path(__file__).resolve().parents[3] / "evals" / "datasets"


def write(path: Path, *rows: object) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("retrieval_sample.jsonl", "retrieval"),
        ("out_of_scope.jsonl", "abstention"),
        ("safety.jsonl", "safety"),
        ("answers.jsonl", "answer"),
        ("verifier_pairs.jsonl", "verifier"),
        ("dialogue_flows.jsonl", "dialogue"),
        ("channel_conformance.jsonl", "channel"),
        ("notes.jsonl", None),
    ],
)
def test_kind_follows_the_file_name(name: str, kind: str | None) -> None:
    assert infer_kind(Path(name)) == kind


def test_every_committed_dataset_loads_with_its_kind() -> None:
    loaded = {p.name: load_dataset(p) for p in sorted(DATASETS.glob("*.jsonl"))}
    assert loaded["retrieval_sample.jsonl"].kind == "retrieval"
    assert len(loaded["retrieval_sample.jsonl"].cases) == 30
    assert loaded["safety.jsonl"].kind == "safety"
    assert all(isinstance(c, SafetyCase) for c in loaded["safety.jsonl"].cases)
    channel = loaded["channel_conformance.jsonl"]
    assert channel.kind == "channel" and {c.channel for c in channel.cases if isinstance(c, ChannelCase)} == {
        "kakao",
        "twilio",
    }
    for dataset in loaded.values():
        assert len(dataset.version) == 12
        assert dataset.cases


def test_the_committed_sets_meet_the_qa_minimums() -> None:
    """Issue 6: at least 60 retrieval, 40 answer, 40 safety and 10 dialogue cases."""
    counts: dict[str, int] = {}
    for path in DATASETS.glob("*.jsonl"):
        dataset = load_dataset(path)
        counts[dataset.kind] = counts.get(dataset.kind, 0) + len(dataset.cases)
    assert counts["retrieval"] >= 60 and counts["answer"] >= 40
    assert counts["safety"] >= 40 and counts["dialogue"] >= 10 and counts["channel"] >= 10


def test_a_header_names_the_kind_and_the_version_is_a_content_hash(tmp_path: Path) -> None:
    header = {"format": "dasan-eval/1", "kind": "retrieval"}
    case = {"id": "q1", "question": "장롱 버리려면?", "expected": [{"source": "sample", "section": "faq-x"}]}
    one = load_dataset(write(tmp_path / "my_questions.jsonl", header, case))
    assert one.kind == "retrieval" and one.name == "my_questions"
    assert one.cases == (RetrievalCase.model_validate(case),)
    same = load_dataset(write(tmp_path / "copy.jsonl", header, case))
    assert same.version == one.version
    changed = load_dataset(write(tmp_path / "changed.jsonl", header, {**case, "question": "소파 버리려면?"}))
    assert changed.version != one.version
    # the benchmark's loader skips the header too
    assert load_retrieval_cases(tmp_path / "my_questions.jsonl") == list(one.cases)


def test_a_bad_line_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "safety_extra.jsonl", {"id": "a", "utterance": "불이야", "expected": "emergency"})
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "b", "utterance": "x", "expected": "fire"}) + "\n")
    with pytest.raises(SourceError) as caught:
        load_dataset(path)
    assert caught.value.row == 2
    assert "expected" in caught.value.reason


def test_unknown_kind_duplicate_ids_and_bad_headers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="unknown dataset kind"):
        load_dataset(write(tmp_path / "misc.jsonl", {"id": "a", "question": "q"}))
    with pytest.raises(SourceError, match="duplicate id"):
        load_dataset(
            write(
                tmp_path / "out_of_scope_x.jsonl", {"id": "a", "question": "q"}, {"id": "a", "question": "r"}
            )
        )
    with pytest.raises(SourceError, match="unsupported format"):
        load_dataset(write(tmp_path / "x.jsonl", {"format": "other/2", "kind": "safety"}))
    with pytest.raises(SourceError, match="unknown kind"):
        load_dataset(write(tmp_path / "y.jsonl", {"format": "dasan-eval/1", "kind": "poetry"}))
    with pytest.raises(SourceError, match="clock must be an ISO 8601 time with a UTC offset"):
        load_dataset(
            write(tmp_path / "z.jsonl", {"format": "dasan-eval/1", "kind": "dialogue", "clock": "2026-11-25"})
        )


def test_answer_cases_accept_alternative_spellings_and_field_aliases(tmp_path: Path) -> None:
    row = {
        "id": "a1",
        "question": "여권 수수료?",
        "must_include": [["53,000원", "5만3천원"]],
        "must_not_include": ["50,000원"],
    }
    [case] = load_dataset(write(tmp_path / "answers_extra.jsonl", row)).cases
    assert isinstance(case, AnswerCase)
    assert case.key_facts == (("53,000원", "5만3천원"),)
    assert case.forbidden == ("50,000원",)
    assert case.should_abstain is False and case.channel == "web"
