"""Flow files: the shipped flows load; a broken file is a ConfigurationError naming the file and the place."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from assistant.core.errors import ConfigurationError
from assistant.dialogue.flows.loader import FlowCatalog, load_flow_file, load_flows
from assistant.dialogue.flows.spec import ActionStep, BranchStep, CollectStep, ConfirmStep, EndStep
from assistant.dialogue.flows.templates import placeholders_of, render_plain, with_particle

GOOD = """
id: tiny
description: 작은 신청
steps:
  - collect: district
    label: 자치구
    prompt: 어느 구인가요?
    validation: {type: district}
  - confirm: "{district:으로} 할까요?"
  - action: do_it
    result: {ref: reference}
  - end: "접수번호 {reference}"
"""


def write(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def broken(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        load_flow_file(path)
    message = str(caught.value)
    assert str(path) in message, message
    return message


def test_the_shipped_flows_load(flows: FlowCatalog) -> None:
    assert {flow.id for flow in flows} == {"bulky_waste_pickup", "civil_complaint"}
    assert flows.action_names() == {
        "lookup_bulky_waste_sizes",
        "quote_bulky_waste_fee",
        "book_bulky_waste",
        "file_complaint",
    }
    bulky = flows.get("bulky_waste_pickup")
    assert [s.collect for s in bulky.collect_steps] == [
        "district",
        "item",
        "size",
        "address",
        "pickup_date",
        "phone",
    ]
    assert bulky.pii_slots == {"address", "phone"}
    complaint = flows.get("civil_complaint")
    assert complaint.pii_slots == {"location"}
    assert any(isinstance(step, BranchStep) for step in complaint.steps)


def test_step_ids_default_to_the_slot_or_the_kind_and_position(tmp_path: Path) -> None:
    flow = load_flow_file(write(tmp_path, GOOD))
    assert [step.id for step in flow.steps] == ["district", "confirm_2", "action_3", "end_4"]
    assert [type(step) for step in flow.steps] == [CollectStep, ConfirmStep, ActionStep, EndStep]
    assert flow.following("district") == "confirm_2"
    assert flow.slot_names == {"district", "reference"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id: x\ndescription: y\nsteps: [ {collect: a, label: b, prompt: c", "malformed YAML"),
        ("- just a list", "the top level must be a mapping"),
        ("id: x\nsteps: [{end: 끝}]", "description: Field required"),
        ("id: X-1\ndescription: y\nsteps: [{end: 끝}]", "id: String should match pattern"),
        ("id: x\ndescription: y\nsteps: [{say: 안녕}]", "steps.0: a step needs one of the keys collect"),
        (
            "id: x\ndescription: y\nsteps: [{end: 끝, colour: red}]",
            "steps.0.colour: Extra inputs are not permitted",
        ),
        ("id: x\ndescription: y\nsteps: []", "steps: Tuple should have at least 1 item"),
    ],
)
def test_schema_errors_name_the_file_and_the_place(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in broken(tmp_path, text)


def collect(**extra: object) -> str:
    fields = {"collect": "a", "label": "가", "prompt": "가요", **extra}
    return "{" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}"


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            f"[{collect(validation='{type: choice}')}, {{end: 끝}}]",
            "a choice needs either options or options_from",
        ),
        (f"[{collect(validation='{type: text, options: [a]}')}, {{end: 끝}}]", "apply to choice only"),
        (f"[{collect(validation='{type: item}')}, {{end: 끝}}]", "an item needs scope"),
        (
            f"[{collect(validation='{type: colour}')}, {{end: 끝}}]",
            "steps.0.validation.type: Input should be",
        ),
        (f"[{collect(next='nowhere')}, {{end: 끝}}]", "step a: next names an unknown step 'nowhere'"),
        (f"[{collect()}, {collect()}, {{end: 끝}}]", "step id 'a' appears more than once"),
        (f"[{collect()}]", "step a: the last step must be an end step"),
        ("[" + collect(prompt="'{b}'") + ", {end: 끝}]", "step a: the template names an unknown slot {b}"),
        (f"[{collect()}, {{end: '{{a:krw}}'}}]", "unknown format 'krw'"),
        (f"[{collect(resets='[zzz]')}, {{end: 끝}}]", "resets names an unknown slot 'zzz'"),
        (
            f"[{collect(validation='{type: item, scope: a}')}, {{end: 끝}}]",
            "scope must name a collected district slot",
        ),
        (
            "[{branch: [{if: {slot: zzz, filled: true}, next: e}]}, {id: e, end: 끝}]",
            "the condition names an unknown slot 'zzz'",
        ),
        (
            f"[{collect()}, {{branch: [{{if: {{slot: a, equals: 1, filled: true}}, next: e}}]}},"
            " {id: e, end: 끝}]",
            "a condition needs exactly one of equals, one_of, filled",
        ),
    ],
)
def test_inconsistent_flows_are_refused(tmp_path: Path, steps: str, expected: str) -> None:
    message = broken(tmp_path, f"id: x\ndescription: y\nsteps: {steps}\n")
    assert expected in message, message


def test_a_directory_with_two_flows_of_one_id_names_both_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(ConfigurationError, match=r"b\.yaml: flow id 'tiny' is also in .*a\.yaml"):
        load_flows(tmp_path)
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_flows(tmp_path / "missing")


def test_templates_render_amounts_and_particles() -> None:
    assert [p.name for p in placeholders_of("{a} {b:won} {c:은}")] == ["a", "b", "c"]
    assert (
        render_plain("{item:은} {district:으로}", {"item": "장롱", "district": "강남구"}) == "장롱은 강남구로"
    )
    assert with_particle("소파", "은") == "소파는"
    assert with_particle("서울", "으로") == "서울로"
    assert with_particle("연락처", "를") == "연락처를"
    with pytest.raises(ValueError, match="plain slot name"):
        placeholders_of("{a.b}")
