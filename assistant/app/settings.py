"""Settings, read from ``DASAN_<SECTION>__<FIELD>`` environment variables (and an optional .env)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from assistant.core.errors import ConfigurationError
from assistant.core.events import Channel
from assistant.tracing.privacy import DEFAULT_CAPTURE_CHANNELS
from channels.copilot.config import CopilotConfig
from channels.kakao.config import KakaoChannelConfig
from channels.twilio.config import TwilioChannelConfig


class EmbeddingSettings(BaseModel):
    """Dense embedder. ``backend``: ``e5`` (bundled offline multilingual-e5-small), ``sentence-transformers``
    (production; ``model`` names a local path or an installed model) or ``none`` (lexical only)."""

    backend: Literal["e5", "sentence-transformers", "none"] = "e5"
    model: str = ""
    device: str = "cpu"
    query_prefix: str = Field(default="", description="e.g. 'query: ' for e5 models")
    passage_prefix: str = Field(default="", description="e.g. 'passage: ' for e5 models")
    batch_size: int = Field(default=16, ge=1)
    threads: int = Field(default=0, ge=0, description="0 = cores - 1 (at least 1)")


class QdrantSettings(BaseModel):
    """Vector index. With no ``url`` the embedded Qdrant Edge engine stores shards under the data dir."""

    url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    collection: str = "dasan"


class RetrievalSettings(BaseModel):
    """Hybrid search. Defaults were chosen on the golden set (see benchmarks/README.md)."""

    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    fusion: Literal["rrf", "dbsf"] = "dbsf"
    rrf_k: int = Field(default=60, ge=1)
    dense_weight: float = Field(default=1.0, gt=0)
    sparse_weight: float = Field(default=1.0, gt=0)
    prefetch_limit: int = Field(default=20, ge=1, description="candidates per signal before fusion")
    top_k: int = Field(default=5, ge=1, le=100)


class ChunkingSettings(BaseModel):
    """Korean sentence-aware chunking; sizes are in characters."""

    max_chars: int = Field(default=500, ge=50)
    overlap_chars: int = Field(default=80, ge=0)


class IngestSettings(BaseModel):
    lock_timeout_s: float = Field(default=0.0, ge=0, description="wait this long for a busy collection")
    batch_documents: int = Field(default=64, ge=1, description="documents committed per transaction")


class SeoulOpenApiSettings(BaseModel):
    key: SecretStr | None = None
    base_url: str = "http://openapi.seoul.go.kr:8088"
    page_size: int = Field(default=1000, ge=1, le=1000)
    timeout_s: float = Field(default=15.0, gt=0)


class LLMSettings(BaseModel):
    """The language model. With ``base_url`` set, dasan talks to that OpenAI-compatible server (vLLM in
    production). Otherwise ``backend=embedded`` starts a local llama.cpp server on a bundled GGUF, and
    ``backend=none`` answers extractively without a model."""

    backend: Literal["embedded", "remote", "none"] = "embedded"
    base_url: str | None = None
    model: str = ""
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=60.0, gt=0, description="per-request deadline, retries included")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    breaker_failures: int = Field(default=5, ge=1, description="consecutive failures that open the breaker")
    breaker_reset_s: float = Field(default=30.0, gt=0)
    threads: int = Field(default=0, ge=0, description="embedded: 0 = cores - 1")
    context_tokens: int = Field(default=4096, ge=512, description="embedded: n_ctx")
    chat_format: str = Field(default="chatml", description="embedded: llama.cpp chat format")
    model_path: Path | None = Field(
        default=None, description="embedded: a GGUF to use instead of the bundled one"
    )
    model_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-fA-F]{64}$", description="embedded: expected sha256 of model_path"
    )


class SafetySettings(BaseModel):
    """The deterministic safety layer. ``rules_path`` replaces the bundled rulebook
    (``assistant/dialogue/safety_rules.yaml``) with a reviewed local copy."""

    rules_path: Path | None = None


class AnswerSettings(BaseModel):
    """Grounded answers (``assistant/answering``). Thresholds were tuned on the sample knowledge; see
    ``assistant/answering/README.md`` and ``benchmarks/bench_answers.py --tune``."""

    top_k: int = Field(default=6, ge=1, le=50, description="chunks retrieved per question")
    context_tokens: int = Field(
        default=1200, ge=100, description="prompt budget for sources, estimated as characters / 1.5"
    )
    max_sources: int = Field(default=5, ge=1, le=20, description="sources packed into the prompt")
    max_tokens: int | None = Field(default=None, ge=16, description="generation cap; unset = the prompt's")
    deadline_s: float = Field(default=60.0, gt=0, description="default deadline; channels pass their own")
    abstain_threshold: float = Field(default=0.6, description="retrieval confidence below this → abstain")
    abstain_lexical_threshold: float = Field(
        default=0.5, description="the same, when there are no dense vectors (lexical-only index)"
    )
    verify_lexical: float = Field(default=0.8, ge=0, le=1, description="lexical support that verifies")
    verify_semantic: float = Field(default=0.93, ge=-1, le=1, description="e5 cosine that verifies …")
    verify_lexical_floor: float = Field(default=0.6, ge=0, le=1, description="… when lexical ≥ this floor")
    llm_verify: bool = Field(default=False, description="also ask the model (strong backends only)")
    llm_rewrite: Literal["auto", "on", "off"] = Field(
        default="auto", description="rewrite follow-ups with the model; auto = remote backends only"
    )
    trust_no_answer: Literal["auto", "on", "off"] = Field(
        default="auto", description="abstain when the model says no answer; auto = remote backends only"
    )
    extractive_sentences: int = Field(default=3, ge=1, le=10)


class DatabaseSettings(BaseModel):
    """Durable conversation records (SQLAlchemy). Unset ``url`` = SQLite at ``<data dir>/dasan.sqlite3``;
    production uses ``postgresql://…``. ``schema_name`` (PostgreSQL only) keeps dasan's tables apart."""

    url: str | None = None
    schema_name: str | None = None


class RedisSettings(BaseModel):
    """Live sessions shared by every worker. Unset ``url`` = in-process live sessions (one worker)."""

    url: SecretStr | None = None
    prefix: str = Field(default="dasan:sessions:", min_length=1)
    session_ttl: timedelta = Field(default=timedelta(hours=24), description="idle live sessions expire")


class RetentionSettings(BaseModel):
    """How long records are kept; ``dasan sessions purge`` (and the server's hourly sweep) deletes older
    ones. Expired staff logins are deleted by the same sweep."""

    conversations: timedelta = timedelta(days=30)
    feedback: timedelta = Field(default=timedelta(days=365), description="agents' ratings of suggestions")
    case_records: timedelta = Field(
        default=timedelta(days=1095), description="bulky-waste bookings and complaints (3 years)"
    )


class AccountsSettings(BaseModel):
    """Staff logins of the agent copilot (``dasan users`` makes the accounts)."""

    login_ttl: timedelta = Field(
        default=timedelta(hours=12),
        gt=timedelta(0),
        description="a login lapses this long after its last use (a shift)",
    )
    max_failed_logins: int = Field(default=5, ge=1, description="failures per name within the window")
    failed_login_window: timedelta = Field(
        default=timedelta(minutes=15), gt=timedelta(0), description="… that block the name for this long"
    )


class DialogueSettings(BaseModel):
    """The dialogue manager: when to hand off, how long a JSON-API reply may take, how much history."""

    handoff_after_failures: int = Field(
        default=2, ge=1, description="consecutive unanswered questions before a human takes over"
    )
    reply_budget: timedelta = Field(default=timedelta(seconds=60), description="web and API channels")
    history_turns: int = Field(default=6, ge=0, le=50, description="earlier turns passed to answers")
    flows: bool = Field(default=True, description="run the shipped YAML flows (bulky waste, complaints)")


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    admin_token: SecretStr | None = Field(
        default=None, description="bearer token for agent/admin JSON routes until login exists"
    )


class TracingSettings(BaseModel):
    """Langfuse turn traces. Connection and sampling come from the SDK's own ``LANGFUSE_*`` variables
    (no keys: tracing off). ``hash_salt`` keys the hashes of session and user ids; unset, one is
    generated into the data dir at first start. ``capture_channels`` (comma-separated) export redacted
    content; other channels export structure only (phone and check-in calls by default)."""

    hash_salt: SecretStr | None = Field(default=None, description="16+ characters; keep it stable")
    capture_channels: Annotated[frozenset[Channel], NoDecode] = DEFAULT_CAPTURE_CHANNELS

    @field_validator("capture_channels", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value


class Settings(BaseSettings):
    """Everything configurable. Only the composition root loads it; components get their section."""

    model_config = SettingsConfigDict(
        env_prefix="DASAN_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Path("data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    embedding: EmbeddingSettings = EmbeddingSettings()
    qdrant: QdrantSettings = QdrantSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    seoul_openapi: SeoulOpenApiSettings = SeoulOpenApiSettings()
    llm: LLMSettings = LLMSettings()
    kakao: KakaoChannelConfig = KakaoChannelConfig()
    copilot: CopilotConfig = CopilotConfig()
    twilio: TwilioChannelConfig = TwilioChannelConfig()
    answers: AnswerSettings = AnswerSettings()
    safety: SafetySettings = SafetySettings()
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    retention: RetentionSettings = RetentionSettings()
    accounts: AccountsSettings = AccountsSettings()
    dialogue: DialogueSettings = DialogueSettings()
    tracing: TracingSettings = TracingSettings()

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


def load_settings(env_file: str | None = ".env") -> Settings:
    """Read settings from the environment; fail fast naming the offending variable."""
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = "__".join(str(p) for p in err["loc"]).upper()
            problems.append(f"DASAN_{path}: {err['msg']}")
        raise ConfigurationError("invalid settings: " + "; ".join(problems)) from exc


def default_threads() -> int:
    """Cores minus one, at least one: oversubscribing 2 cores made inference several times slower."""
    return max(1, (os.cpu_count() or 2) - 1)
