"""Whole-flow checks run when a flow file loads: ids, jumps, slot references and templates."""

from __future__ import annotations

from collections import Counter

from assistant.dialogue.flows.spec import (
    BranchStep,
    CollectStep,
    ConfirmStep,
    EndStep,
    FlowSpec,
)
from assistant.dialogue.flows.templates import TEMPLATE_FORMATS, placeholders_of


def check_flow(flow: FlowSpec) -> None:
    """Raise ``ValueError`` naming the step when the flow is inconsistent."""
    _unique(flow)
    known = flow.slot_names
    _check_template(flow.start_message, known, "start_message")
    ids = {step.id for step in flow.steps}
    for index, step in enumerate(flow.steps):
        where = f"step {step.id}"
        targets = [step.next] if step.next else []
        if isinstance(step, BranchStep):
            targets += [case.next for case in step.branch]
            for case in step.branch:
                if case.when is not None and case.when.slot not in known:
                    raise ValueError(f"{where}: the condition names an unknown slot {case.when.slot!r}")
        for target in targets:
            if target not in ids:
                raise ValueError(f"{where}: next names an unknown step {target!r}")
        is_last = index == len(flow.steps) - 1
        falls_off = step.next is None and not isinstance(step, EndStep)
        if isinstance(step, BranchStep) and any(case.when is None for case in step.branch):
            falls_off = False
        if is_last and falls_off:
            raise ValueError(f"{where}: the last step must be an end step or name its next step")
        for template in _templates(step):
            _check_template(template, known, where)
        if isinstance(step, CollectStep):
            _check_collect(flow, step, known, where)


def _unique(flow: FlowSpec) -> None:
    for what, names in (
        ("step id", [step.id for step in flow.steps]),
        ("collected slot", [step.collect for step in flow.collect_steps]),
    ):
        repeated = sorted(name for name, count in Counter(names).items() if count > 1)
        if repeated:
            raise ValueError(f"{what} {repeated[0]!r} appears more than once")


def _templates(step: object) -> list[str]:
    match step:
        case CollectStep():
            return [step.prompt, *([step.reprompt] if step.reprompt else [])]
        case ConfirmStep():
            return [step.confirm]
        case EndStep():
            return [step.end]
        case _:
            return []


def _check_template(template: str, known: frozenset[str], where: str) -> None:
    try:
        found = placeholders_of(template)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    for placeholder in found:
        if placeholder.name not in known:
            raise ValueError(f"{where}: the template names an unknown slot {{{placeholder.name}}}")
        if placeholder.format not in TEMPLATE_FORMATS:
            raise ValueError(
                f"{where}: unknown format {placeholder.format!r} (use :won or a particle such as :은)"
            )


def _check_collect(flow: FlowSpec, step: CollectStep, known: frozenset[str], where: str) -> None:
    validation = step.validation
    for slot in step.resets:
        if slot not in known:
            raise ValueError(f"{where}: resets names an unknown slot {slot!r}")
    if validation.options_from is not None and validation.options_from not in known:
        raise ValueError(f"{where}: options_from names an unknown slot {validation.options_from!r}")
    if validation.scope is not None:
        scope = flow.collect_step(validation.scope)
        if scope is None or scope.slot_type != "district":
            raise ValueError(f"{where}: scope must name a collected district slot")
        if flow.index_of(scope.id) > flow.index_of(step.id):
            raise ValueError(f"{where}: scope {validation.scope!r} is collected after this step")
