"""The copilot's settings section: the staff cookie, trusted origins, list size, polling and budgets."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode

STAFF_COOKIE = "dasan_staff"
"""The cookie that carries a staff login's secret (HttpOnly, SameSite=Strict, Path=/)."""

CookieSecure = Literal["auto", "always", "never"]


class CopilotConfig(BaseModel):
    """What the copilot needs to know. Durations accept seconds or ISO 8601.

    * ``cookie_secure``: ``auto`` marks the staff cookie ``Secure`` when the request came over HTTPS
      (behind a TLS proxy, run uvicorn with ``--proxy-headers`` so the scheme is right); ``always``
      for production behind HTTPS; ``never`` only for plain-HTTP development on another host.
    * ``trusted_origins``: extra ``scheme://host[:port]`` origins accepted on state-changing requests
      besides the request's own host (a proxy that rewrites ``Host``).
    * ``list_limit``: live conversations listed at most; ``poll_interval``: how often the page polls.
    * ``assist_budget``: how long a suggestion may take (the answer falls back to extractive in time).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cookie_secure: CookieSecure = "auto"
    trusted_origins: Annotated[tuple[str, ...], NoDecode] = ()
    list_limit: int = Field(default=100, ge=1, le=1000)
    poll_interval: timedelta = timedelta(seconds=2)
    assist_budget: timedelta = timedelta(seconds=30)
    max_form_bytes: int = Field(default=8 * 1024, ge=1024, le=1024 * 1024)

    @field_validator("trusted_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())
        return value

    @field_validator("poll_interval")
    @classmethod
    def _sane_poll(cls, value: timedelta) -> timedelta:
        if not timedelta(milliseconds=250) <= value <= timedelta(minutes=1):
            raise ValueError("poll_interval must be between 0.25 s and 60 s")
        return value
