"""Prompt files: loading, validation, versions, rendering, snapshots and the `dasan prompts` CLI."""

from __future__ import annotations

import copy
import json
import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from assistant.app.cli import prompts_cmd
from assistant.core.errors import ConfigurationError
from assistant.llm.prompt import PromptInputError, RenderedPrompt
from assistant.llm.prompt_library import (
    PromptFileError,
    PromptLibrary,
    PromptNotFound,
    default_prompts_dir,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
SHIPPED = ("answer_judge", "answer_verification", "grounded_answer", "query_rewrite", "spoken_answer")
NO_ANSWER = "제공된 자료에서 답을 찾을 수 없습니다."

MINIMAL: dict[str, Any] = {
    "id": "echo",
    "description": "Repeats the question.",
    "inputs": {
        "question": {"type": "str", "description": "The question."},
        "items": {"type": "list", "description": "Things, each {name}.", "default": []},
    },
    "messages": [
        {"role": "system", "content": "짧게 답하세요."},
        {"role": "user", "content": "{% for i in items %}{{ i.name }}\n{% endfor %}{{ question }}"},
    ],
    "defaults": {"max_tokens": 50, "temperature": 0.2, "stop": ["\n\n"]},
    "examples": [{"question": "안녕하세요?"}, {"question": "뭐예요?", "items": [{"name": "가"}]}],
}


@pytest.fixture(scope="module")
def library() -> PromptLibrary:
    return PromptLibrary(default_prompts_dir())


def write_prompt(directory: Path, spec: dict[str, Any], name: str | None = None) -> Path:
    path = directory / f"{name or spec['id']}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_error(tmp_path: Path, spec: dict[str, Any]) -> str:
    write_prompt(tmp_path, spec)
    with pytest.raises(PromptFileError) as caught:
        PromptLibrary(tmp_path)
    return str(caught.value)


def variant(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(MINIMAL)
    spec.update(changes)
    return spec


# --- shipped prompts ---------------------------------------------------------------------------------


def test_the_library_holds_exactly_the_shipped_prompts(library: PromptLibrary) -> None:
    assert tuple(p.prompt_id for p in library) == SHIPPED
    assert len(library) == len(SHIPPED)


@pytest.mark.parametrize("prompt_id", SHIPPED)
def test_every_example_of_a_shipped_prompt_renders(library: PromptLibrary, prompt_id: str) -> None:
    prompt = library.get(prompt_id)
    assert 2 <= len(prompt.examples) <= 3
    assert len(prompt.version) == 12 and int(prompt.version, 16) >= 0
    for example in prompt.examples:
        rendered = prompt.render(example)
        assert rendered.prompt_id == prompt_id and rendered.version == prompt.version
        assert [m.role for m in rendered.messages] == ["system", "user"]
        for message in rendered.messages:
            assert message.content and message.content == message.content.strip()
            assert "{{" not in message.content and "{%" not in message.content
        last = rendered.messages[-1].content
        if prompt_id == "answer_judge":  # the judged answer comes last, after question and sources
            assert last.endswith(example["answer"]) and example["question"] in last
        else:
            assert last.endswith(example.get("question", example.get("sentence")))


@pytest.mark.parametrize("prompt_id", ["grounded_answer", "spoken_answer"])
def test_answer_prompts_carry_the_no_answer_marker_and_cite_sources(
    library: PromptLibrary, prompt_id: str
) -> None:
    prompt = library.get(prompt_id)
    assert prompt.constants["no_answer"] == NO_ANSWER
    rendered = prompt.render(prompt.examples[0])
    system, user = (m.content for m in rendered.messages)
    assert f'"{NO_ANSWER}"' in system and "[1]" in system
    for source in prompt.examples[0]["sources"]:
        assert f"[{source['n']}] {source['title']}" in user and source["text"] in user


def test_history_is_optional_and_shown_only_when_given(library: PromptLibrary) -> None:
    prompt = library.get("grounded_answer")
    sources = [{"n": 1, "title": "여권", "section": "", "text": "여권은 구청에서 만들어요."}]
    without = prompt.render({"question": "여권 어디서 만들어요?", "sources": sources})
    with_history = prompt.render(
        {
            "question": "얼마예요?",
            "sources": sources,
            "history": [{"role": "user", "text": "여권 만들려고요"}, {"role": "assistant", "text": "네"}],
        }
    )
    assert "[이전 대화]" not in without.messages[1].content
    assert "사용자: 여권 만들려고요\n상담원: 네" in with_history.messages[1].content


def test_grounded_prompt_fixed_part_stays_lean(library: PromptLibrary) -> None:
    # About 160 Qwen2.5 tokens when measured; ~30 tok/s prompt processing on CPU makes every one count.
    fixed = library.get("grounded_answer").render({"question": "", "sources": []})
    assert sum(len(m.content) for m in fixed.messages) < 300


@pytest.mark.parametrize(
    ("prompt_id", "fields"),
    [("query_rewrite", ["query"]), ("answer_verification", ["reason", "supported"])],
)
def test_structured_prompts_declare_a_json_schema(
    library: PromptLibrary, prompt_id: str, fields: list[str]
) -> None:
    prompt = library.get(prompt_id)
    assert prompt.json_schema is not None
    assert list(prompt.json_schema["properties"]) == fields
    assert prompt.json_schema["required"] == fields
    request = prompt.render(prompt.examples[0]).to_request()
    assert request.json_schema == prompt.json_schema and request.schema_name == prompt_id
    assert json.loads(json.dumps(request.json_schema)) == request.json_schema  # goes on the wire as is
    assert library.get("grounded_answer").json_schema is None


def test_to_request_applies_defaults_overrides_and_tags_the_version(library: PromptLibrary) -> None:
    prompt = library.get("grounded_answer")
    rendered = prompt.render(prompt.examples[0])
    request = rendered.to_request()
    assert request.messages == rendered.messages
    assert (request.max_tokens, request.temperature, request.stop) == (320, 0.0, ())
    assert request.json_schema is None
    assert request.metadata == {"prompt_id": "grounded_answer", "prompt_version": prompt.version}
    tuned = rendered.to_request(
        max_tokens=10,
        temperature=0.7,
        stop=("[끝]",),
        timeout=timedelta(seconds=5),
        metadata={"turn_id": "t1", "prompt_version": "spoofed"},
    )
    assert (tuned.max_tokens, tuned.temperature, tuned.stop) == (10, 0.7, ("[끝]",))
    assert tuned.timeout == timedelta(seconds=5)
    assert tuned.metadata == {
        "turn_id": "t1",
        "prompt_id": "grounded_answer",
        "prompt_version": prompt.version,
    }


def test_unknown_prompt_id_is_a_configuration_error(library: PromptLibrary) -> None:
    with pytest.raises(PromptNotFound, match=r"grounded_answr.*known: answer_judge, answer_verification"):
        library.get("grounded_answr")


def test_default_prompts_dir_is_the_repository_folder() -> None:
    assert default_prompts_dir() == Path(__file__).resolve().parents[3] / "prompts"


# --- inputs at render time ---------------------------------------------------------------------------


def test_undeclared_input_is_rejected_naming_prompt_and_input(library: PromptLibrary) -> None:
    prompt = library.get("query_rewrite")
    with pytest.raises(PromptInputError) as caught:
        prompt.render({**prompt.examples[0], "sources": []})
    assert caught.value.prompt_id == "query_rewrite" and caught.value.input_name == "sources"
    assert "'query_rewrite'" in str(caught.value) and "'sources'" in str(caught.value)


def test_missing_input_is_rejected(library: PromptLibrary) -> None:
    with pytest.raises(PromptInputError, match="'answer_verification', input 'source': missing"):
        library.get("answer_verification").render({"sentence": "400원이에요."})


def test_mistyped_input_is_rejected(library: PromptLibrary) -> None:
    with pytest.raises(PromptInputError, match="input 'sources': expected list, got str"):
        library.get("grounded_answer").render({"question": "질문", "sources": "자료"})


def test_strict_undefined_rejects_an_item_missing_a_field(library: PromptLibrary) -> None:
    with pytest.raises(PromptInputError, match=r"undefined value.*section"):
        library.get("grounded_answer").render(
            {"question": "질문", "sources": [{"n": 1, "title": "제목", "text": "본문"}]}
        )


def test_user_text_is_data_never_template_code(library: PromptLibrary) -> None:
    rendered = library.get("answer_verification").render({"sentence": "{{ 7 * 7 }}", "source": "{% raw %}"})
    assert rendered.messages[1].content == "[자료]\n{% raw %}\n\n[문장]\n{{ 7 * 7 }}"


def test_the_sandbox_blocks_dunder_access_in_a_prompt_file(tmp_path: Path) -> None:
    spec = variant()
    spec["messages"][1]["content"] = "{{ question.__class__.__mro__ }}{{ items }}"
    assert "examples[0]" in load_error(tmp_path, spec) and "unsafe" in load_error(tmp_path, spec)


def test_prompt_input_error_is_a_value_error() -> None:
    assert issubclass(PromptInputError, ValueError)
    assert issubclass(PromptFileError, ConfigurationError)


# --- validation at load ------------------------------------------------------------------------------


def test_a_minimal_prompt_loads_with_defaults_and_optional_inputs(tmp_path: Path) -> None:
    write_prompt(tmp_path, MINIMAL)
    prompt = PromptLibrary(tmp_path).get("echo")
    assert prompt.defaults.max_tokens == 50 and prompt.defaults.stop == ("\n\n",)
    assert prompt.render({"question": "질문"}).messages[1].content == "질문"
    assert prompt.render({"question": "질문", "items": [{"name": "가"}]}).messages[1].content == "가\n질문"


def test_a_typo_in_a_template_variable_fails_at_load(tmp_path: Path) -> None:
    spec = variant()
    spec["messages"][1]["content"] = "{{ questoin }}{{ question }}{{ items }}"
    assert "uses 'questoin', which is not declared" in load_error(tmp_path, spec)


def test_strict_undefined_catches_a_typo_in_an_attribute_through_the_examples(tmp_path: Path) -> None:
    spec = variant()
    spec["messages"][1]["content"] = "{% for i in items %}{{ i.nmae }}{% endfor %}{{ question }}"
    message = load_error(tmp_path, spec)
    assert "examples[1]" in message and "nmae" in message


def test_a_bad_role_is_rejected(tmp_path: Path) -> None:
    spec = variant()
    spec["messages"][0]["role"] = "developer"
    assert "messages.0.role" in load_error(tmp_path, spec)


def test_an_unknown_key_is_rejected(tmp_path: Path) -> None:
    assert "temprature: Extra inputs are not permitted" in load_error(tmp_path, variant(temprature=0.5))


def test_a_template_syntax_error_is_rejected(tmp_path: Path) -> None:
    spec = variant()
    spec["messages"][1]["content"] = "{% for i in items %}{{ question }}"
    assert "messages[1]: line 1:" in load_error(tmp_path, spec)


def test_an_example_with_an_undeclared_input_is_rejected(tmp_path: Path) -> None:
    message = load_error(tmp_path, variant(examples=[{"question": "질문", "answer": "답"}]))
    assert "examples[0]" in message and "'answer'" in message and "not declared" in message


def test_an_example_missing_an_input_is_rejected(tmp_path: Path) -> None:
    assert "input 'question': missing" in load_error(tmp_path, variant(examples=[{"items": []}]))


def test_a_declared_but_unused_input_is_rejected(tmp_path: Path) -> None:
    spec = variant()
    spec["inputs"]["topic"] = {"type": "str", "description": "Unused."}
    assert "input 'topic' is declared but no message uses it" in load_error(tmp_path, spec)


def test_a_default_of_the_wrong_type_is_rejected(tmp_path: Path) -> None:
    spec = variant()
    spec["inputs"]["items"]["default"] = "none"
    assert "input 'items': default is not a list" in load_error(tmp_path, spec)


def test_the_id_must_equal_the_file_name(tmp_path: Path) -> None:
    write_prompt(tmp_path, MINIMAL, name="other")
    with pytest.raises(PromptFileError, match="must equal the file name 'other'"):
        PromptLibrary(tmp_path)


def test_examples_are_required(tmp_path: Path) -> None:
    assert "examples" in load_error(tmp_path, variant(examples=[]))


def test_a_json_schema_must_describe_an_object(tmp_path: Path) -> None:
    assert "json_schema must be an object schema" in load_error(
        tmp_path, variant(json_schema={"type": "string"})
    )


def test_invalid_yaml_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "echo.yaml").write_text("id: [echo\n", encoding="utf-8")
    with pytest.raises(PromptFileError, match="cannot read"):
        PromptLibrary(tmp_path)


def test_a_missing_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        PromptLibrary(tmp_path / "absent")


# --- versions ----------------------------------------------------------------------------------------


def copy_shipped(tmp_path: Path, prompt_id: str) -> Path:
    return Path(shutil.copy(default_prompts_dir() / f"{prompt_id}.yaml", tmp_path / f"{prompt_id}.yaml"))


def test_the_version_is_stable_for_the_same_content(library: PromptLibrary, tmp_path: Path) -> None:
    copy_shipped(tmp_path, "grounded_answer")
    again = PromptLibrary(tmp_path).get("grounded_answer")
    assert again.version == library.get("grounded_answer").version


def test_the_version_changes_when_a_message_or_default_changes(
    library: PromptLibrary, tmp_path: Path
) -> None:
    original = library.get("grounded_answer").version
    path = copy_shipped(tmp_path, "grounded_answer")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("5문장 이내로", "4문장 이내로"), encoding="utf-8")
    reworded = PromptLibrary(tmp_path).get("grounded_answer").version
    path.write_text(text.replace("max_tokens: 320", "max_tokens: 300"), encoding="utf-8")
    shorter = PromptLibrary(tmp_path).get("grounded_answer").version
    assert len({original, reworded, shorter}) == 3


def test_the_version_ignores_comments_descriptions_and_examples(
    library: PromptLibrary, tmp_path: Path
) -> None:
    path = copy_shipped(tmp_path, "grounded_answer")
    text = path.read_text(encoding="utf-8")
    edited = "# a new comment\n" + text.replace("Answers a citizen's question", "Answers a question").replace(
        "The user's question, as typed.", "The question."
    ).replace("냉장고를 버리려는데 돈이 드나요?", "세탁기를 버리려는데 돈이 드나요?")
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    assert PromptLibrary(tmp_path).get("grounded_answer").version == library.get("grounded_answer").version


# --- snapshots ---------------------------------------------------------------------------------------


def snapshot_text(prompt_id: str, renders: list[RenderedPrompt]) -> str:
    first = renders[0]
    request = first.to_request()
    defaults = f"max_tokens={request.max_tokens} temperature={request.temperature} stop={list(request.stop)}"
    lines = [
        f"# {prompt_id} @ {first.version}",
        f"defaults: {defaults}",
        "json_schema: "
        + (json.dumps(request.json_schema, ensure_ascii=False) if request.json_schema is not None else "-"),
    ]
    for index, rendered in enumerate(renders):
        lines.append(f"\n======== example {index} ========")
        for message in rendered.messages:
            lines += [f"--- {message.role} ---", message.content]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("prompt_id", SHIPPED)
def test_rendered_examples_match_the_snapshot(library: PromptLibrary, prompt_id: str) -> None:
    prompt = library.get(prompt_id)
    actual = snapshot_text(prompt_id, [prompt.render(example) for example in prompt.examples])
    path = SNAPSHOTS / f"{prompt_id}.txt"
    if not path.exists() and os.environ.get("CI"):
        pytest.fail(f"{path} is missing; generate it locally and commit it")
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == actual, (
        f"{path.name} differs from the rendered prompt; rerun with UPDATE_SNAPSHOTS=1 if intended"
    )


# --- CLI ---------------------------------------------------------------------------------------------


def test_cli_renders_an_example_as_json(library: PromptLibrary) -> None:
    result = CliRunner().invoke(
        prompts_cmd.build(), ["render", "grounded_answer", "--example", "0", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    prompt = library.get("grounded_answer")
    expected = prompt.render(prompt.examples[0])
    assert payload["id"] == "grounded_answer" and payload["version"] == prompt.version
    assert payload["messages"] == [{"role": m.role, "content": m.content} for m in expected.messages]
    assert payload["defaults"] == {"max_tokens": 320, "temperature": 0.0, "stop": []}
    assert payload["json_schema"] is None


def test_cli_renders_inputs_from_a_file_and_reports_bad_ones(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"sentence": "400원이에요.", "source": "수수료는 400원입니다."}), "utf-8")
    app = prompts_cmd.build()
    ok = CliRunner().invoke(app, ["render", "answer_verification", "--inputs", str(inputs)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("# answer_verification @ ")
    assert "[문장]\n400원이에요." in ok.stdout and "--- json_schema ---" in ok.stdout
    inputs.write_text(json.dumps({"sentence": "400원이에요."}), "utf-8")
    bad = CliRunner().invoke(app, ["render", "answer_verification", "--inputs", str(inputs)])
    assert bad.exit_code == 1
    assert "input 'source': missing" in bad.stderr


def test_cli_rejects_inputs_and_example_together(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text("{}", "utf-8")
    result = CliRunner().invoke(
        prompts_cmd.build(), ["render", "grounded_answer", "--inputs", str(inputs), "--example", "1"]
    )
    assert result.exit_code == 2 and "not both" in result.stderr


def test_cli_lists_prompts_from_a_directory(tmp_path: Path) -> None:
    write_prompt(tmp_path, MINIMAL)
    result = CliRunner().invoke(prompts_cmd.build(), ["list", "--json", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["prompts"]
    assert row["id"] == "echo" and row["inputs"] == ["question", "items"] and row["structured"] is False


def test_cli_reports_a_broken_prompt_file(tmp_path: Path) -> None:
    write_prompt(tmp_path, variant(examples=[{"items": []}]))
    result = CliRunner().invoke(prompts_cmd.build(), ["list", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "echo.yaml" in result.stderr
