"""Runs the real `dasan` console script as a subprocess with an isolated environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASAN = Path(sys.executable).parent / "dasan"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def cli_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """Only what the CLI needs: never the developer's DASAN_* variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DASAN_")}
    env["DASAN_DATA_DIR"] = str(data_dir)
    env.update(settings)
    return env


def run_cli(
    args: list[str], env: dict[str, str], *, cwd: Path, stdin: str | None = None, timeout: float = 240
) -> CliResult:
    done = subprocess.run(
        [str(DASAN), *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)
