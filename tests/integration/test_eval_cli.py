"""`dasan eval gate` for real: it passes on the sample knowledge, and fails when the retriever reads the
wrong corpus or a safety rule is missing. Also `dasan eval run` (with `--langfuse` against a local fake
of the Langfuse API) and `dasan eval compare` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from assistant.dialogue.safety_rulebook import default_rulebook_path
from tests.fakes.langfuse_api import FakeLangfuseApi
from tests.integration.cli_runner import cli_env, run_cli

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WRONG_CORPUS = [
    {"id": "faq-weather", "question": "내일 날씨 어때요?", "answer": "기상청 날씨누리에서 확인하세요."},
    {"id": "faq-lotto", "question": "로또 당첨 번호는?", "answer": "동행복권 누리집에서 확인하세요."},
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample knowledge with the embedded e5 (what CI gates on), plus a wrong corpus."""
    root = tmp_path_factory.mktemp("eval")
    env = cli_env(root / "data")
    built = run_cli(["ingest", "sample", "--json"], env, cwd=root)
    assert built.code == 0, built.stderr
    corpus = root / "wrong"
    corpus.mkdir()
    (corpus / "faq.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in WRONG_CORPUS), encoding="utf-8"
    )
    wrong = run_cli(["ingest", str(corpus), "--collection", "wrong-corpus"], env, cwd=root)
    assert wrong.code == 0, wrong.stderr
    return root / "data"


def test_the_gate_passes_on_the_sample_knowledge(data_dir: Path, tmp_path: Path) -> None:
    result = run_cli(
        ["eval", "gate", "--json", str(tmp_path / "gate.json"), "--report", str(tmp_path / "gate.html")],
        cli_env(data_dir),
        cwd=tmp_path,
    )
    assert result.code == 0, result.stderr
    assert "gate passed" in result.stderr
    report = json.loads((tmp_path / "gate.json").read_text(encoding="utf-8"))
    ran = {s["suite"] for s in report["suites"] if s["status"] == "ran"}
    assert {
        "retrieval_sample.hybrid",
        "retrieval_sample.lexical",
        "safety",
        "channel_conformance",
        "dialogue_flows",
    } <= ran
    suites = {s["suite"]: s for s in report["suites"]}
    assert suites["channel_conformance"]["options"] == {
        "kakao": "KakaoSkillEncoder",
        "twilio": "TwilioVoiceEncoder",
    }
    flows = {m["name"]: m["value"] for m in suites["dialogue_flows"]["metrics"]}
    assert flows["outcome"] == flows["slots"] == 1.0 and len(suites["dialogue_flows"]["cases"]) >= 10
    assert not (data_dir / "dasan.sqlite3").exists()  # dialogue cases ran on scratch databases
    assert report["settings"]["llm"].startswith("none")  # the gate never runs a language model
    html = (tmp_path / "gate.html").read_text(encoding="utf-8")
    assert "gate PASSED" in html and "<svg" in html


def test_the_gate_fails_when_the_retriever_reads_the_wrong_corpus(data_dir: Path, tmp_path: Path) -> None:
    env = cli_env(data_dir, DASAN_QDRANT__COLLECTION="wrong-corpus")
    result = run_cli(["eval", "gate"], env, cwd=tmp_path)
    assert result.code == 1, result.stderr
    assert "gate FAILED" in result.stderr
    assert "retrieval_sample.hybrid" in result.stderr and "hit@1" in result.stderr


def test_the_gate_fails_when_a_safety_rule_is_disabled(data_dir: Path, tmp_path: Path) -> None:
    rules = yaml.safe_load(default_rulebook_path().read_text(encoding="utf-8"))
    rules["categories"] = [c for c in rules["categories"] if c["name"] != "gas"]
    weakened = tmp_path / "rules_without_gas.yaml"
    weakened.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    env = cli_env(data_dir, DASAN_SAFETY__RULES_PATH=str(weakened))
    result = run_cli(["eval", "gate", "--json", str(tmp_path / "gate.json")], env, cwd=tmp_path)
    assert result.code == 1, result.stderr
    assert "recall_emergency" in result.stderr
    safety = next(
        s for s in json.loads((tmp_path / "gate.json").read_text())["suites"] if s["suite"] == "safety"
    )
    missed = [c["case_id"] for c in safety["cases"] if not c["scores"][0]["passed"]]
    assert missed and all(
        c["details"]["expected"] == "emergency/gas" for c in safety["cases"] if c["case_id"] in missed
    )


def test_run_writes_reports_and_compare_reads_them(data_dir: Path, tmp_path: Path) -> None:
    env = cli_env(data_dir)
    datasets = [
        str(REPO / "evals" / "datasets" / name) for name in ("safety.jsonl", "channel_conformance.jsonl")
    ]
    first = run_cli(["eval", "run", *datasets, "--json", str(tmp_path / "a.json")], env, cwd=tmp_path)
    assert first.code == 0, first.stderr
    missing = run_cli(["eval", "run", str(tmp_path / "nope_retrieval.jsonl")], env, cwd=tmp_path)
    assert missing.code == 1 and "cannot read" in missing.stderr
    second = run_cli(["eval", "run", *datasets, "--json", str(tmp_path / "b.json")], env, cwd=tmp_path)
    assert second.code == 0, second.stderr
    compared = run_cli(
        [
            "eval",
            "compare",
            str(tmp_path / "a.json"),
            str(tmp_path / "b.json"),
            "--json",
            "--fail-on-regression",
        ],
        env,
        cwd=tmp_path,
    )
    assert compared.code == 0, compared.stderr
    assert compared.json()["regressions"] == 0


def test_run_publishes_datasets_and_scores_to_langfuse(data_dir: Path, tmp_path: Path) -> None:
    datasets = [str(REPO / "evals" / "datasets" / name) for name in ("safety.jsonl", "dialogue_flows.jsonl")]
    with FakeLangfuseApi() as api:
        env = cli_env(
            data_dir,
            LANGFUSE_PUBLIC_KEY=api.public_key,
            LANGFUSE_SECRET_KEY="sk-lf-eval",
            LANGFUSE_BASE_URL=api.base_url,
            DASAN_LLM__BACKEND="none",  # the flows' FAQ digressions answer extractively
        )
        result = run_cli(["eval", "run", *datasets, "--langfuse"], env, cwd=tmp_path)
        assert result.code == 0, result.stderr
        assert set(api.datasets) == {"dasan/safety", "dasan/dialogue_flows"}
        assert sum(1 for i in api.items if i.startswith("dasan-dialogue_flows-")) >= 10
        runs = {
            s.attributes["langfuse.experiment.name"] for s in api.spans if s.name == "experiment-item-run"
        }
        assert {r.split(" ")[0] for r in runs} == {"safety", "dialogue_flows"}
        names = {s["name"] for s in api.scores}
        assert {"routing", "pii", "outcome", "slots", "recall_emergency"} <= names
        assert api.unauthorized == 0
    assert "langfuse: dasan/safety" in result.stderr


def test_langfuse_without_keys_fails_before_running(data_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env(data_dir).items() if not k.startswith("LANGFUSE_")}
    dataset = str(REPO / "evals" / "datasets" / "safety.jsonl")
    result = run_cli(
        ["eval", "run", dataset, "--langfuse", "--json", str(tmp_path / "r.json")], env, cwd=tmp_path
    )
    assert result.code == 1
    assert "--langfuse needs LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_BASE_URL" in result.stderr
    assert not (tmp_path / "r.json").exists()
