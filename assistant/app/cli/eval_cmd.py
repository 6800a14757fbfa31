"""`dasan eval run | compare | gate`: datasets through production wiring, JSON/HTML reports, CI gate."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

import typer
from rich.console import Console

import assistant
import evals
from assistant.app.cli.runtime import EXIT_FAILURE, EXIT_USAGE, configure_logging, fail
from assistant.app.eval_wiring import build_subjects, publish_to_langfuse
from assistant.app.services import Services, build_services
from assistant.app.settings import Settings, load_settings
from assistant.core.errors import ConfigurationError, DasanError, SourceError
from assistant.llm.prompt_library import PromptLibrary, default_prompts_dir
from assistant.retrieval.ports import SearchMode
from assistant.tracing.langfuse_options import LangfuseOptions
from evals.compare import compare_reports, comparison_dict
from evals.console import RichRunProgress, print_comparison, print_gate, print_summary
from evals.datasets import Dataset, infer_kind, load_dataset
from evals.gates import GateConfig, GateOutcome, evaluate_gate, load_gate_config
from evals.html_report import write_html
from evals.judge import JUDGE_PROMPT_ID, AnswerJudge
from evals.plan import build_suite
from evals.report_json import read_report_json, slim_for_baseline, write_report_json
from evals.results import RunReport, SuiteResult, unrun_suite
from evals.runner import EvalRunner
from evals.subjects import Subjects
from evals.suite import Suite

T = TypeVar("T")
Backend = Literal["configured", "embedded"]
DEFAULT_GATES = Path(evals.__file__).parent / "gates.yaml"


def build() -> typer.Typer:
    app = typer.Typer(help="Run eval datasets, compare reports, gate CI on thresholds.", no_args_is_help=True)

    @app.command()
    def run(
        datasets: Annotated[list[Path], typer.Argument(help="JSONL datasets (see evals/README.md).")],
        backend: Annotated[
            Backend,
            typer.Option(help="configured: settings as they are; embedded: Edge index, e5, local LLM."),
        ] = "configured",
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
        report: Annotated[Path | None, typer.Option("--report", help="Write the HTML report here.")] = None,
        collection: Annotated[str | None, typer.Option(help="Collection (default: settings).")] = None,
        concurrency: Annotated[int, typer.Option(min=1, max=64, help="Cases in flight per suite.")] = 4,
        judge: Annotated[bool, typer.Option("--judge", help="Grade answers with the LLM judge.")] = False,
        langfuse: Annotated[
            bool,
            typer.Option(
                "--langfuse", help="Publish the datasets and this run to Langfuse (LANGFUSE_* variables)."
            ),
        ] = False,
    ) -> None:
        """Run datasets and report. Exit 1 when a suite could not run (e.g. its collection is missing)."""
        settings = _settings(backend)
        publish_to = _langfuse_options() if langfuse else None
        planned, unrun = _load_datasets(datasets)

        async def body(services: Services) -> RunReport:
            kinds = {p.dataset.kind for p in planned}
            subjects = await build_subjects(services, collection, kinds, judge=judge)
            answer_judge = _judge(subjects) if judge and "answer" in kinds else None
            suites = [build_suite(p.dataset, subjects, judge=answer_judge) for p in planned]
            return await _run(services, suites, unrun, collection, judge=judge, concurrency=concurrency)

        result = _with_services(settings, body)
        _write(result, json_out, report, title="run")
        print_summary(_stderr(), result)
        if publish_to is not None:
            _publish(publish_to, result, [p.dataset for p in planned])
        broken = [s for s in result.suites if s.status == "error"]
        if broken:
            raise fail("; ".join(f"{s.suite}: {s.reason}" for s in broken))

    @app.command()
    def compare(
        before: Annotated[Path, typer.Argument(help="The earlier JSON report (e.g. the baseline).")],
        after: Annotated[Path, typer.Argument(help="The newer JSON report.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
        gates: Annotated[Path, typer.Option(help="Tolerances come from this gates file.")] = DEFAULT_GATES,
        fail_on_regression: Annotated[
            bool, typer.Option(help="Exit 1 when a metric regressed beyond its tolerance.")
        ] = False,
    ) -> None:
        """Metric deltas and flipped cases between two reports. Exits 0 unless --fail-on-regression."""
        try:
            older, newer = read_report_json(before), read_report_json(after)
            config = load_gate_config(gates)
        except DasanError as exc:
            raise fail(str(exc)) from exc
        comparison = compare_reports(older, newer, config.tolerance_for)
        if as_json:
            sys.stdout.write(json.dumps(comparison_dict(comparison), ensure_ascii=False) + "\n")
        else:
            print_comparison(Console(), comparison)
        if fail_on_regression and comparison.regressions:
            raise typer.Exit(EXIT_FAILURE)

    @app.command()
    def gate(
        baseline: Annotated[
            Path | None, typer.Option(help="Baseline report (default: from the gates file).")
        ] = None,
        gates: Annotated[Path, typer.Option(help="Suites, thresholds and tolerances.")] = DEFAULT_GATES,
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
        report: Annotated[Path | None, typer.Option("--report", help="Write the HTML report here.")] = None,
        collection: Annotated[str | None, typer.Option(help="Collection (default: settings).")] = None,
        concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
        update_baseline: Annotated[
            bool, typer.Option(help="Write this run as the baseline when every threshold holds.")
        ] = False,
    ) -> None:
        """Run the gate suites (deterministic: no LLM) and fail on a threshold or a regression."""
        try:
            config = load_gate_config(gates)
        except ConfigurationError as exc:
            raise fail(str(exc), EXIT_USAGE) from exc
        baseline_path = baseline or config.baseline_path
        settings = _settings("configured", llm_off=True)

        async def body(services: Services) -> RunReport:
            planned, unrun = _load_gate_datasets(config)
            subjects = await build_subjects(
                services, collection, {p.dataset.kind for p in planned}, judge=False
            )
            suites = [build_suite(p.dataset, subjects, name=p.name, mode=p.mode) for p in planned]
            return await _run(services, suites, unrun, collection, judge=False, concurrency=concurrency)

        result = _with_services(settings, body)
        previous = None if update_baseline or not baseline_path.exists() else _read_baseline(baseline_path)
        outcome = evaluate_gate(config, result, previous, baseline_required=not update_baseline)
        _write(result, json_out, report, title="gate", gate=outcome)
        console = _stderr()
        print_summary(console, result)
        print_gate(console, outcome)
        if not outcome.passed:
            raise typer.Exit(EXIT_FAILURE)
        if update_baseline:
            write_report_json(slim_for_baseline(result), baseline_path)
            console.print(f"baseline written to {baseline_path}", highlight=False)

    return app


def _langfuse_options() -> LangfuseOptions:
    """The Langfuse to publish to, from the SDK's ``LANGFUSE_*`` variables; fails before anything runs."""
    try:
        options = LangfuseOptions.from_env(os.environ)
    except ConfigurationError as exc:
        raise fail(f"--langfuse: {exc}") from exc
    if options is None:
        raise fail(
            "--langfuse needs LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_BASE_URL "
            "(a self-hosted Langfuse), with LANGFUSE_TRACING_ENABLED not false"
        )
    return options


def _publish(options: LangfuseOptions, result: RunReport, datasets: list[Dataset]) -> None:
    try:
        published = asyncio.run(publish_to_langfuse(options, result, datasets))
    except DasanError as exc:
        raise fail(f"--langfuse: {exc}") from exc
    console = _stderr()
    for run in published:
        where = f" {run.url}" if run.url else ""
        console.print(
            f"langfuse: {run.dataset} ← {run.run_name}: {run.items} items, {run.scores} scores{where}",
            highlight=False,
        )


def _stderr() -> Console:
    """Progress and tables go to stderr; wider than rich's 80-column default when it is not a terminal."""
    console = Console(stderr=True)
    return console if console.is_terminal else Console(stderr=True, width=150)


def _settings(backend: Backend, *, llm_off: bool = False) -> Settings:
    """The configured settings; ``embedded`` swaps in the in-process stack, the gate turns the LLM off."""
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise fail(str(exc)) from exc
    configure_logging(settings)
    # every dialogue case migrates a scratch database (eval_wiring); Alembic's per-step INFO is noise here
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if backend == "embedded":
        settings = settings.model_copy(
            update={
                "qdrant": settings.qdrant.model_copy(update={"url": None}),
                "embedding": settings.embedding.model_copy(update={"backend": "e5"}),
                "llm": settings.llm.model_copy(update={"backend": "embedded", "base_url": None}),
            }
        )
    if llm_off:
        settings = settings.model_copy(
            update={"llm": settings.llm.model_copy(update={"backend": "none", "base_url": None})}
        )
    return settings


def _with_services(settings: Settings, body: Callable[[Services], Awaitable[T]]) -> T:
    async def go() -> T:
        # Eval turns are not production turns: never traced (``--langfuse`` uploads results instead).
        services = await build_services(settings, env={})
        try:
            return await body(services)
        finally:
            await services.aclose()

    try:
        return asyncio.run(go())
    except DasanError as exc:
        raise fail(str(exc)) from exc
    except KeyboardInterrupt as exc:
        raise fail("interrupted") from exc


async def _run(
    services: Services,
    suites: list[Suite],
    unrun: list[SuiteResult],
    collection: str | None,
    *,
    judge: bool,
    concurrency: int = 4,
) -> RunReport:
    with RichRunProgress(_stderr()) as progress:
        runner = EvalRunner(clock=services.clock, concurrency=concurrency, progress=progress)
        commit, dirty = _git_state()
        return await runner.run(
            suites,
            metadata={**_settings_summary(services, collection), "concurrency": str(concurrency)},
            git_commit=commit,
            git_dirty=dirty,
            judge=judge,
            extra=unrun,
        )


@dataclass(frozen=True, slots=True)
class _Planned:
    dataset: Dataset
    name: str | None = None
    mode: SearchMode | None = None


def _load_datasets(paths: list[Path]) -> tuple[list[_Planned], list[SuiteResult]]:
    """Each dataset, or an ``error`` suite naming why it could not be read (the run goes on)."""
    planned: list[_Planned] = []
    unrun: list[SuiteResult] = []
    for path in paths:
        try:
            planned.append(_Planned(load_dataset(_relative(path))))
        except SourceError as exc:
            unrun.append(unrun_suite(path.stem, str(path), infer_kind(path), "error", str(exc)))
    return planned, unrun


def _load_gate_datasets(config: GateConfig) -> tuple[list[_Planned], list[SuiteResult]]:
    """The gate's suites; a missing dataset is an error when required, skipped otherwise."""
    planned: list[_Planned] = []
    unrun: list[SuiteResult] = []
    for entry in config.suites:
        path = _relative(config.dataset_path(entry))
        if not path.exists():
            status: Literal["skipped", "error"] = "error" if entry.required else "skipped"
            unrun.append(
                unrun_suite(entry.name, str(path), infer_kind(path), status, "dataset file not present")
            )
            continue
        try:
            planned.append(_Planned(load_dataset(path), entry.name, entry.mode))
        except SourceError as exc:
            unrun.append(unrun_suite(entry.name, str(path), infer_kind(path), "error", str(exc)))
    return planned, unrun


def _relative(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (reports stay machine-neutral)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def _read_baseline(path: Path) -> RunReport:
    try:
        return read_report_json(path)
    except SourceError as exc:
        raise fail(f"baseline {exc}") from exc


def _write(
    result: RunReport,
    json_out: Path | None,
    report: Path | None,
    *,
    title: str,
    gate: GateOutcome | None = None,
) -> None:
    if json_out is not None:
        write_report_json(result, json_out)
    if report is not None:
        write_html(result, report, title=title, gate=gate)


def _judge(subjects: Subjects) -> AnswerJudge | None:
    if subjects.judge is None:
        _stderr().print("[yellow]--judge: no language model is available; the judge is off[/yellow]")
        return None
    return AnswerJudge(subjects.judge, PromptLibrary(default_prompts_dir()).get(JUDGE_PROMPT_ID))


def _settings_summary(services: Services, collection: str | None) -> dict[str, str]:
    """What shaped the results, without secrets or URLs' credentials."""
    s = services.settings
    r = s.retrieval
    a = s.answers
    status = services.llm.status()
    return {
        "data_dir": str(_relative(s.data_dir)),
        "collection": collection or s.qdrant.collection,
        "index": f"qdrant server {urlsplit(s.qdrant.url).hostname}"
        if s.qdrant.url
        else "embedded (Qdrant Edge)",
        "embedding": s.embedding.backend + (f" {s.embedding.model}" if s.embedding.model else ""),
        "retrieval": f"mode={r.mode} fusion={r.fusion} rrf_k={r.rrf_k} "
        f"weights={r.dense_weight}:{r.sparse_weight} prefetch={r.prefetch_limit}",
        "llm": s.llm.backend
        + (f" {urlsplit(s.llm.base_url).hostname}" if s.llm.base_url else "")
        + (f" {s.llm.model}" if s.llm.model else ""),
        "safety_rules": str(s.safety.rules_path) if s.safety.rules_path else "bundled",
        "answers": f"top_k={a.top_k} abstain={a.abstain_threshold}/{a.abstain_lexical_threshold} "
        f"verify={a.verify_lexical}/{a.verify_semantic}/{a.verify_lexical_floor} llm_verify={a.llm_verify}",
        "llm_status": f"{status.state}: {status.detail}",
        "dialogue": f"flows={'on' if s.dialogue.flows else 'off'}, each case on a scratch database",
    }


def _git_state() -> tuple[str | None, bool | None]:
    """The checkout's commit and whether tracked files changed; (None, None) outside a git checkout."""
    root = Path(assistant.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())
