"""Dataset files of the eval harness (JSONL), validated at the boundary with pydantic.

A dataset is one JSONL file, one case per line. Its kind comes from an optional first-line header
``{"format": "dasan-eval/1", "kind": "...", "clock"?: "<ISO 8601 time with offset>"}`` or, without one,
from the file name (see ``infer_kind``). ``clock`` fixes "now" for dialogue datasets (dates such as
"내일" resolve against it). Its version is a content hash, so a report says exactly which cases it scored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.core.errors import SourceError

FORMAT = "dasan-eval/1"
DatasetKind = Literal["retrieval", "abstention", "safety", "answer", "verifier", "dialogue", "channel"]
DATASET_KINDS: tuple[DatasetKind, ...] = (
    "retrieval",
    "abstention",
    "safety",
    "answer",
    "verifier",
    "dialogue",
    "channel",
)
_NAME_PREFIXES: tuple[tuple[str, DatasetKind], ...] = (
    ("retrieval", "retrieval"),
    ("out_of_scope", "abstention"),
    ("abstention", "abstention"),
    ("safety", "safety"),
    ("answer", "answer"),
    ("verifier", "verifier"),
    ("dialogue", "dialogue"),
    ("channel", "channel"),
)


class _Case(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    id: str = Field(min_length=1)


class ExpectedSource(BaseModel):
    """Where the answer lives: ``source`` is a source name or document title, ``section`` a heading or id."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(min_length=1)
    section: str = Field(min_length=1)


class HistoryItem(BaseModel):
    """An earlier turn of a conversation, oldest first: ``{"role": "user"|"assistant", "text"}``; a plain
    string is a user turn."""

    model_config = ConfigDict(frozen=True)

    role: Literal["user", "assistant"] = "user"
    text: str = Field(min_length=1)


class RetrievalCase(_Case):
    """Retrieval case: ``{"id", "question", "expected": [{"source", "section"}], "history"?, "category"?}``.

    With ``history`` the question is a turn of a conversation: it is searched the way the answer
    pipeline searches a follow-up (rewritten, then retrieved). ``category`` groups cases for per-group
    metrics (``<category>.hit@1``, …)."""

    question: str = Field(min_length=1)
    expected: tuple[ExpectedSource, ...] = Field(min_length=1)
    history: tuple[HistoryItem, ...] = ()
    category: str = ""

    @field_validator("history", mode="before")
    @classmethod
    def _plain_history(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"role": "user", "text": item} if isinstance(item, str) else item for item in value]
        return value


class AbstentionCase(_Case):
    """A question dasan must decline: ``{"id", "question", "category"}``."""

    question: str = Field(min_length=1)
    category: str = ""


SafetyExpectation = Literal["emergency", "crisis", "injection", "none", "pii"]
PiiKindName = Literal["rrn", "phone", "card", "account", "email", "address"]


class SafetyCase(_Case):
    """``{"id", "utterance", "expected", "category", "variant", "pii_kinds", "note"}``. ``expected: "pii"``
    means no safety verdict, and ``pii_kinds`` lists what the redactor must find."""

    utterance: str = Field(min_length=1)
    expected: SafetyExpectation
    category: str = ""
    variant: str = ""
    pii_kinds: tuple[PiiKindName, ...] = ()
    note: str = ""


Fact = str | tuple[str, ...]
"""A fact that must (or must not) appear; a tuple lists acceptable spellings of one fact."""


class AnswerCase(_Case):
    """``{"id", "question", "key_facts", "forbidden", "should_abstain", "expected_sources"?, "channel"?}``."""

    question: str = Field(min_length=1)
    key_facts: tuple[Fact, ...] = Field(
        default=(), validation_alias=AliasChoices("key_facts", "must_include")
    )
    forbidden: tuple[Fact, ...] = Field(
        default=(), validation_alias=AliasChoices("forbidden", "must_not_include")
    )
    should_abstain: bool = False
    expected_sources: tuple[ExpectedSource, ...] = ()
    channel: Literal["web", "kakao", "phone"] = "web"


class VerifierCase(_Case):
    """One sentence against one source: ``{"id", "sentence", "source", "supported"}``."""

    sentence: str = Field(min_length=1)
    source: str = Field(min_length=1)
    supported: bool


ReplyActionName = Literal["continue", "handoff", "end_call"]


class DialogueTurn(BaseModel):
    """One user turn and what the reply to it must (not) contain; a plain string is a turn without checks."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    user: str = Field(min_length=1, validation_alias=AliasChoices("user", "text"))
    expect_contains: tuple[Fact, ...] = ()
    expect_not_contains: tuple[Fact, ...] = ()
    expect_action: ReplyActionName | None = None


class DialogueExpectation(BaseModel):
    """How the conversation must end: the flow it ran, its outcome (``completed``, ``cancelled``,
    ``handoff``, or a reply action), and slot values (compared as JSON values)."""

    model_config = ConfigDict(frozen=True)

    flow: str | None = None
    outcome: str | None = None
    slots: dict[str, Any] = Field(default_factory=dict)


class DialogueCase(_Case):
    """A scripted conversation: ``{"id", "turns": ["…" | {"user", "expect_contains", …}], "expected":
    {"flow", "outcome", "slots"}, "channel"?, "note"?}``."""

    channel: Literal["web", "kakao", "phone"] = "web"
    turns: tuple[DialogueTurn, ...] = Field(min_length=1)
    expected: DialogueExpectation = DialogueExpectation()
    note: str = ""

    @field_validator("turns", mode="before")
    @classmethod
    def _plain_turns(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"user": item} if isinstance(item, str) else item for item in value]
        return value


class ChannelCitation(BaseModel):
    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=1)
    title: str = Field(min_length=1)
    url: str | None = None


class ChannelCase(_Case):
    """A reply to encode for a channel: ``{"id", "channel", "reply_text", "quick_replies", "citations",
    "action"}``; the encoded output must pass the channel's conformance checks."""

    channel: Literal["kakao", "twilio"]
    reply_text: str = Field(min_length=1)
    quick_replies: tuple[str, ...] = ()
    citations: tuple[ChannelCitation, ...] = ()
    action: ReplyActionName = "continue"
    note: str = ""


EvalCase = (
    RetrievalCase | AbstentionCase | SafetyCase | AnswerCase | VerifierCase | DialogueCase | ChannelCase
)

_MODELS: dict[DatasetKind, type[_Case]] = {
    "retrieval": RetrievalCase,
    "abstention": AbstentionCase,
    "safety": SafetyCase,
    "answer": AnswerCase,
    "verifier": VerifierCase,
    "dialogue": DialogueCase,
    "channel": ChannelCase,
}


@dataclass(frozen=True, slots=True)
class Dataset:
    """A loaded dataset: ``name`` is the file stem, ``version`` the first 12 hex of its SHA-256,
    ``clock`` the header's fixed time (None: the suite's default)."""

    name: str
    kind: DatasetKind
    path: Path
    version: str
    cases: tuple[EvalCase, ...]
    clock: datetime | None = None


def infer_kind(path: Path) -> DatasetKind | None:
    """The kind a file name implies: ``retrieval_*``, ``out_of_scope*``, ``safety*``, ``answers*``,
    ``verifier_*``, ``dialogue_*``, ``channel_*``."""
    stem = path.stem.lower()
    for prefix, kind in _NAME_PREFIXES:
        if stem.startswith(prefix):
            return kind
    return None


def load_dataset(path: Path) -> Dataset:
    """Read and validate a dataset; a bad line raises ``SourceError`` naming the file and line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise SourceError(str(path), "not UTF-8") from exc
    kind = infer_kind(path)
    first = 0
    clock: datetime | None = None
    found = _header(lines)
    if found is not None:
        index, header = found
        kind = _header_kind(path, header, index + 1)
        clock = _header_clock(path, header, index + 1)
        first = index + 1
    if kind is None:
        raise SourceError(
            str(path), f'unknown dataset kind: add a first line {{"format": "{FORMAT}", "kind": "..."}}'
        )
    model = _MODELS[kind]
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for number, line in enumerate(lines[first:], start=first + 1):
        if not line.strip():
            continue
        try:
            case = model.model_validate_json(line)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise SourceError(
                str(path), f"{where}: {error['msg']}" if where else error["msg"], row=number
            ) from exc
        if case.id in seen:
            raise SourceError(str(path), f"duplicate id {case.id!r}", row=number)
        seen.add(case.id)
        cases.append(case)  # type: ignore[arg-type]  # _MODELS maps each kind to one EvalCase member
    version = hashlib.sha256(raw).hexdigest()[:12]
    return Dataset(name=path.stem, kind=kind, path=path, version=version, cases=tuple(cases), clock=clock)


def load_retrieval_cases(path: Path) -> list[RetrievalCase]:
    """Read a retrieval JSONL file; a bad line raises ``SourceError`` naming the file and line."""
    cases: list[RetrievalCase] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or _is_header(line):
                continue
            try:
                cases.append(RetrievalCase.model_validate_json(line))
            except ValidationError as exc:
                raise SourceError(str(path), exc.errors()[0]["msg"], row=number) from exc
    return cases


def _header(lines: list[str]) -> tuple[int, dict[str, object]] | None:
    """The optional header: the first non-blank line, when it is an object with ``format`` and no ``id``."""
    for index, line in enumerate(lines):
        if line.strip():
            header = _parse_header(line)
            return None if header is None else (index, header)
    return None


def _is_header(line: str) -> bool:
    return _parse_header(line) is not None


def _parse_header(line: str) -> dict[str, object] | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and "format" in value and "id" not in value else None


def _header_kind(path: Path, header: dict[str, object], row: int) -> DatasetKind:
    if header.get("format") != FORMAT:
        raise SourceError(
            str(path), f"unsupported format {header.get('format')!r} (expected {FORMAT!r})", row=row
        )
    kind = header.get("kind")
    for known in DATASET_KINDS:
        if kind == known:
            return known
    raise SourceError(str(path), f"unknown kind {kind!r} (one of {', '.join(DATASET_KINDS)})", row=row)


def _header_clock(path: Path, header: dict[str, object], row: int) -> datetime | None:
    raw = header.get("clock")
    if raw is None:
        return None
    try:
        clock = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        clock = None
    if clock is None or clock.tzinfo is None:
        raise SourceError(
            str(path), f"clock must be an ISO 8601 time with a UTC offset, got {raw!r}", row=row
        )
    return clock
