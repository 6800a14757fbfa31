"""The Kakao channel's settings section (``DASAN_KAKAO__*``): budgets, windows, allow-lists, copy."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import NoDecode

KAKAO_SKILL_TIMEOUT = timedelta(seconds=5)
"""Kakao drops a skill answer that takes longer than this ("skill timeout: 5sec")."""

DEFAULT_HOLDING_TEXT = "답변을 준비하고 있어요. 잠시만 기다려 주세요."


class KakaoChannelConfig(BaseModel):
    """Everything the Kakao skill channel needs to know. Durations accept seconds ("4.0") or ISO 8601.

    * ``inline_budget``: how long ``POST /kakao/skill`` waits for the dialogue before it answers with
      ``useCallback`` (when the block has a callbackUrl) or a polite "ask again" text. Must stay well
      under Kakao's 5 s; the dialogue itself is told ``inline_budget - reply_margin``.
    * ``callback_window``: how long a callbackUrl stays valid (Kakao: 1 minute from the request).
      The dialogue is told ``callback_window - fast_answer_margin`` so that it falls back to a fast
      (extractive) answer in time; at ``callback_window - delivery_reserve`` the router stops waiting
      and posts an apology instead; no POST starts after ``callback_window - callback_safety_margin``.
    * ``embedded_callback_budget``: what the dialogue is told instead, for a callback answer, when the
      model is the embedded llama.cpp one (the composition root decides). That model needs 30–50 s for
      one answer on 2 cores, and never made 50 s with users queued on its one slot, so waiting for it
      only delayed the extractive answer. At 3 s (under ``inline_budget``) the turn ends in time to be
      answered inline. The remote model keeps ``callback_window - fast_answer_margin``.
    * ``callback_url_prefixes``: a callbackUrl that starts with none of these is ignored (treated as
      absent), so a forged payload cannot make the server POST to an arbitrary host.
    * ``dedupe_window``: the same user + the same utterance within this window is one turn.
    * ``allowed_bot_ids``: empty allows any bot (the composition root should log a warning).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_bot_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    inline_budget: timedelta = timedelta(seconds=4.0)
    reply_margin: timedelta = timedelta(seconds=0.5)
    callback_window: timedelta = timedelta(seconds=60)
    fast_answer_margin: timedelta = timedelta(seconds=10)
    embedded_callback_budget: timedelta = timedelta(seconds=3)
    delivery_reserve: timedelta = timedelta(seconds=5)
    callback_safety_margin: timedelta = timedelta(seconds=1)
    callback_attempts: int = Field(default=3, ge=1, le=10)
    callback_attempt_timeout: timedelta = timedelta(seconds=5)
    callback_backoff: timedelta = timedelta(seconds=0.5)
    callback_url_prefixes: Annotated[tuple[str, ...], NoDecode] = ("https://bot-api.kakao.com/",)
    dedupe_window: timedelta = timedelta(seconds=5)
    operator_handoff: bool = False
    holding_text: str = Field(default=DEFAULT_HOLDING_TEXT, min_length=1, max_length=1000)
    callcenter_number: str = Field(default="120", pattern=r"^[0-9][0-9-]{1,19}$")
    shutdown_grace: timedelta = timedelta(seconds=5)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    @field_validator("allowed_bot_ids", "callback_url_prefixes", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator(
        "inline_budget",
        "reply_margin",
        "callback_window",
        "fast_answer_margin",
        "embedded_callback_budget",
        "delivery_reserve",
        "callback_safety_margin",
        "callback_attempt_timeout",
        "callback_backoff",
        "dedupe_window",
        "shutdown_grace",
        mode="before",
    )
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value  # ISO 8601 ("PT4S") and friends: pydantic parses those
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        zero = timedelta(0)
        if not zero < self.inline_budget < KAKAO_SKILL_TIMEOUT:
            raise ValueError("inline_budget must be between 0 and Kakao's 5 s skill timeout")
        if not zero <= self.reply_margin < self.inline_budget:
            raise ValueError("reply_margin must be at least 0 and shorter than inline_budget")
        if self.callback_window <= zero:
            raise ValueError("callback_window must be positive")
        for name in ("fast_answer_margin", "delivery_reserve", "callback_safety_margin"):
            margin: timedelta = getattr(self, name)
            if not zero <= margin < self.callback_window:
                raise ValueError(f"{name} must be at least 0 and shorter than callback_window")
        if self.embedded_callback_budget <= zero:
            raise ValueError("embedded_callback_budget must be positive")
        if self.callback_safety_margin > self.delivery_reserve:
            raise ValueError("callback_safety_margin must not exceed delivery_reserve")
        if self.callback_attempt_timeout <= zero or self.callback_backoff < zero:
            raise ValueError("callback_attempt_timeout must be positive and callback_backoff not negative")
        if self.dedupe_window < zero or self.shutdown_grace < zero:
            raise ValueError("dedupe_window and shutdown_grace must not be negative")
        if any(not p.startswith(("https://", "http://")) for p in self.callback_url_prefixes):
            raise ValueError("callback_url_prefixes must be http(s) URLs")
        return self

    def warnings(self) -> tuple[str, ...]:
        """What the composition root should log at startup: open doors that are legal but risky."""
        found: list[str] = []
        if not self.allowed_bot_ids:
            found.append(
                "DASAN_KAKAO__ALLOWED_BOT_IDS is empty: any Kakao bot (or anyone) can call /kakao/skill"
            )
        if any(p.startswith("http://") for p in self.callback_url_prefixes):
            found.append(
                "DASAN_KAKAO__CALLBACK_URL_PREFIXES allows plain-http callbacks (fine for the simulator only)"
            )
        return tuple(found)

    @property
    def inline_reply_budget(self) -> timedelta:
        """What the dialogue is told when the answer must come inline."""
        return self.inline_budget - self.reply_margin

    @property
    def callback_reply_budget(self) -> timedelta:
        """What the dialogue is told when a callbackUrl lets the answer come later (about 50 s)."""
        return self.callback_window - self.fast_answer_margin

    def callback_reply_budget_for(self, *, embedded: bool) -> timedelta:
        """``callback_reply_budget``, or for the embedded model ``embedded_callback_budget`` (never more)."""
        if not embedded:
            return self.callback_reply_budget
        return min(self.embedded_callback_budget, self.callback_reply_budget)
