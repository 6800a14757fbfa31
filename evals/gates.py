"""The CI gate: ``gates.yaml`` (suites, thresholds, tolerances) and the verdict on a run against it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.core.errors import ConfigurationError
from evals.compare import Comparison, compare_reports
from evals.results import RunReport

CheckKind = Literal["suite", "threshold", "baseline"]


class Threshold(BaseModel):
    """``min`` or ``max`` (or both) on a metric's aggregate; ``tolerance`` overrides the suite's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float | None = None
    max: float | None = None
    tolerance: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bound(self) -> Threshold:
        if self.min is None and self.max is None and self.tolerance is None:
            raise ValueError("a threshold needs min, max or tolerance")
        return self


class GateSuite(BaseModel):
    """A suite the gate runs: a dataset (relative to the gates file), options and thresholds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    dataset: Path
    mode: Literal["hybrid", "dense", "lexical"] | None = None
    required: bool = True
    tolerance: float | None = Field(default=None, ge=0)
    thresholds: dict[str, Threshold] = Field(default_factory=dict)


class GateConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    baseline: Path
    tolerance: float = Field(default=0.0, ge=0)
    suites: tuple[GateSuite, ...] = Field(min_length=1)
    root: Path = Path(".")

    def dataset_path(self, suite: GateSuite) -> Path:
        return suite.dataset if suite.dataset.is_absolute() else self.root / suite.dataset

    @property
    def baseline_path(self) -> Path:
        return self.baseline if self.baseline.is_absolute() else self.root / self.baseline

    def suite(self, name: str) -> GateSuite | None:
        return next((s for s in self.suites if s.name == name), None)

    def tolerance_for(self, suite: str, metric: str) -> float:
        """The metric's own tolerance, else its suite's, else the file's."""
        gate = self.suite(suite)
        if gate is None:
            return self.tolerance
        threshold = gate.thresholds.get(metric)
        if threshold is not None and threshold.tolerance is not None:
            return threshold.tolerance
        return gate.tolerance if gate.tolerance is not None else self.tolerance


def load_gate_config(path: Path) -> GateConfig:
    """Read ``gates.yaml``; relative paths in it are relative to its folder."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read gates file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"gates file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"gates file {path} must be a mapping")
    try:
        config = GateConfig.model_validate({**raw, "root": path.resolve().parent})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"gates file {path}: {problems}") from exc
    names = [s.name for s in config.suites]
    if len(names) != len(set(names)):
        raise ConfigurationError(f"gates file {path}: suite names must be unique")
    return config


@dataclass(frozen=True, slots=True)
class GateCheck:
    suite: str
    metric: str
    kind: CheckKind
    expected: str
    actual: str
    passed: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class GateOutcome:
    checks: tuple[GateCheck, ...]
    comparison: Comparison | None

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> tuple[GateCheck, ...]:
        return tuple(check for check in self.checks if not check.passed)


def evaluate_gate(
    config: GateConfig, report: RunReport, baseline: RunReport | None, *, baseline_required: bool = True
) -> GateOutcome:
    """Every suite ran (or is optional), every threshold holds, nothing regressed beyond tolerance."""
    checks: list[GateCheck] = []
    if baseline is None and baseline_required:
        note = "write one with `dasan eval gate --update-baseline`"
        checks.append(GateCheck("-", "-", "baseline", "a baseline report", "missing", False, note))
    for gate in config.suites:
        result = report.suite(gate.name)
        if result is None or result.status != "ran":
            status = "missing" if result is None else result.status
            reason = result.reason if result is not None else "not in the report"
            ok = status in ("skipped", "missing") and not gate.required
            checks.append(GateCheck(gate.name, "-", "suite", "ran", status, ok, reason))
            continue
        checks.append(GateCheck(gate.name, "-", "suite", "ran", "ran", True, f"{len(result.cases)} cases"))
        for metric, threshold in gate.thresholds.items():
            found = result.metric(metric)
            checks += _threshold_checks(gate.name, metric, threshold, found.value if found else None)
    comparison = None
    if baseline is not None:
        comparison = compare_reports(baseline, report, config.tolerance_for)
        changed = {suite for suite, _, _ in comparison.dataset_changes}
        for delta in comparison.metrics:
            if config.suite(delta.suite) is None or delta.before is None:
                continue
            note = "dataset changed since the baseline" if delta.suite in changed else ""
            sign = "≥" if delta.higher_is_better else "≤"
            bound = (
                delta.before - delta.tolerance if delta.higher_is_better else delta.before + delta.tolerance
            )
            checks.append(
                GateCheck(
                    delta.suite,
                    delta.metric,
                    "baseline",
                    f"{sign} {_fmt(bound)} (baseline {_fmt(delta.before)})",
                    _fmt(delta.after),
                    not delta.regressed,
                    note,
                )
            )
    return GateOutcome(tuple(checks), comparison)


def _threshold_checks(suite: str, metric: str, threshold: Threshold, value: float | None) -> list[GateCheck]:
    checks = []
    for bound, sign in ((threshold.min, "≥"), (threshold.max, "≤")):
        if bound is None:
            continue
        ok = value is not None and (value >= bound - 1e-9 if sign == "≥" else value <= bound + 1e-9)
        checks.append(GateCheck(suite, metric, "threshold", f"{sign} {_fmt(bound)}", _fmt(value), ok))
    return checks


def _fmt(value: float | None) -> str:
    if value is None:
        return "missing"
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
