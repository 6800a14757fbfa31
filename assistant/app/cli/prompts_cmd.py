"""`dasan prompts list|render`: inspect the prompt files and what they send to the model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.app.cli.runtime import EXIT_USAGE, fail
from assistant.core.errors import ConfigurationError
from assistant.llm.prompt import PromptInputError, RenderedPrompt
from assistant.llm.prompt_library import PromptLibrary, default_prompts_dir

DirOption = Annotated[
    Path | None,
    typer.Option("--dir", help="Prompts directory (default: the repository's prompts/)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def build() -> typer.Typer:
    app = typer.Typer(help="Inspect the prompt files.", no_args_is_help=True)

    @app.command("list")
    def list_prompts(as_json: JsonOption = False, directory: DirOption = None) -> None:
        """Every prompt with its version and inputs."""
        library = _library(directory)
        rows = [
            {
                "id": prompt.prompt_id,
                "version": prompt.version,
                "inputs": [spec.name for spec in prompt.inputs],
                "structured": prompt.json_schema is not None,
                "constants": dict(prompt.constants),
                "description": prompt.description,
            }
            for prompt in library
        ]
        if as_json:
            _write({"directory": str(library.directory), "prompts": rows})
            return
        for prompt in library:
            inputs = ", ".join(spec.name for spec in prompt.inputs)
            kind = "json" if prompt.json_schema is not None else "text"
            sys.stdout.write(f"{prompt.prompt_id:<22} {prompt.version}  {kind:<4}  inputs: {inputs}\n")

    @app.command()
    def render(
        prompt_id: Annotated[str, typer.Argument(help="The prompt id, e.g. grounded_answer.")],
        inputs_file: Annotated[
            Path | None, typer.Option("--inputs", help="A JSON object with the prompt's inputs.")
        ] = None,
        example: Annotated[
            int | None, typer.Option("--example", help="Render the N-th example of the file (default 0).")
        ] = None,
        as_json: JsonOption = False,
        directory: DirOption = None,
    ) -> None:
        """Render a prompt with inputs from a JSON file or one of its examples."""
        if inputs_file is not None and example is not None:
            raise fail("give --inputs or --example, not both", EXIT_USAGE)
        try:
            prompt = _library(directory).get(prompt_id)
        except ConfigurationError as exc:
            raise fail(str(exc)) from exc
        if inputs_file is not None:
            inputs = _read_inputs(inputs_file)
        else:
            index = example or 0
            if not 0 <= index < len(prompt.examples):
                raise fail(f"{prompt_id} has {len(prompt.examples)} examples; no example {index}", EXIT_USAGE)
            inputs = dict(prompt.examples[index])
        try:
            rendered = prompt.render(inputs)
        except PromptInputError as exc:
            raise fail(str(exc)) from exc
        if as_json:
            _write(_as_dict(rendered))
        else:
            sys.stdout.write(_as_text(rendered))

    return app


def _library(directory: Path | None) -> PromptLibrary:
    try:
        return PromptLibrary(directory if directory is not None else default_prompts_dir())
    except ConfigurationError as exc:
        raise fail(str(exc)) from exc


def _read_inputs(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"cannot read inputs {path}: {exc}", EXIT_USAGE) from exc
    if not isinstance(data, dict):
        raise fail(f"inputs {path} must hold a JSON object", EXIT_USAGE)
    return data


def _as_dict(rendered: RenderedPrompt) -> dict[str, Any]:
    return {
        "id": rendered.prompt_id,
        "version": rendered.version,
        "messages": [{"role": m.role, "content": m.content} for m in rendered.messages],
        "defaults": {
            "max_tokens": rendered.defaults.max_tokens,
            "temperature": rendered.defaults.temperature,
            "stop": list(rendered.defaults.stop),
        },
        "json_schema": dict(rendered.json_schema) if rendered.json_schema is not None else None,
    }


def _as_text(rendered: RenderedPrompt) -> str:
    lines = [f"# {rendered.prompt_id} @ {rendered.version}"]
    for message in rendered.messages:
        lines += [f"--- {message.role} ---", message.content]
    if rendered.json_schema is not None:
        lines += ["--- json_schema ---", json.dumps(dict(rendered.json_schema), ensure_ascii=False)]
    return "\n".join(lines) + "\n"


def _write(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
