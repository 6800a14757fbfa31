"""Settings of the Twilio phone channel, and the development auth token kept under the data dir."""

from __future__ import annotations

import json
import logging
import os
import secrets
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from assistant.core.errors import ConfigurationError

DEV_TOKEN_FILE = "twilio_dev_token"

_logger = logging.getLogger(__name__)

ProxyNetwork = IPv4Network | IPv6Network


class TwilioChannelConfig(BaseModel):
    """The phone channel (env ``DASAN_TWILIO__<FIELD>``).

    ``public_base_url`` is the URL Twilio calls (``https://voice.example.go.kr``); when set it wins
    over everything when the signed URL is rebuilt. Otherwise ``X-Forwarded-Proto/Host/Port`` are
    believed only from a peer in ``trusted_proxies`` (IPs or CIDRs), and else the request URL is used.
    ``auth_token`` unset means a development token (see ``resolve_auth_token``).
    List fields (``trusted_proxies``, ``hints``) read an env value as comma-separated items
    (``DASAN_TWILIO__TRUSTED_PROXIES=10.0.0.1,10.1.0.0/16``), like ``DASAN_KAKAO__ALLOWED_BOT_IDS``;
    a JSON list is accepted too.
    """

    auth_token: SecretStr | None = None
    account_sid: str | None = Field(default=None, description="AC…; needed to send SMS")
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$")
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    agent_number: str | None = Field(default=None, description="E.164 number <Dial>ed on handoff")
    agent_queue: str | None = Field(default=None, description="<Enqueue> name used when no agent_number")
    emergency_transfer_number: str | None = None
    hotline: str = Field(default="120", description="the number callers are told to call instead")
    voice: str = "Polly.Seoyeon-Neural"
    language: str = "ko-KR"
    speech_model: str | None = Field(default=None, description="<Gather speechModel>; None: Twilio's")
    speech_timeout: str = Field(
        default="auto", pattern=r"^(auto|[1-9][0-9]?)$", description="seconds, or auto without a speech_model"
    )
    hints: Annotated[tuple[str, ...], NoDecode] = (
        "상담사",
        "여권",
        "주민등록등본",
        "대형폐기물",
        "쓰레기",
        "불법 주정차",
        "주차",
        "민원",
    )
    filler_budget: timedelta = Field(
        default=timedelta(milliseconds=150),
        description="how long a gather waits for the reply before speaking a filler and redirecting",
    )
    answer_poll_wait: timedelta = Field(
        default=timedelta(milliseconds=150),
        description="how long one /answer poll waits for the reply before pausing again",
    )
    answer_deadline: timedelta = Field(
        default=timedelta(seconds=20), description="give up on a reply (apologise, offer an agent) after"
    )
    embedded_answer_budget: timedelta = Field(
        default=timedelta(seconds=3),
        description="with the embedded CPU model: answer (extractively) after this, not hold the line",
    )
    min_confidence: float = Field(default=0.3, ge=0.0, le=1.0)
    max_reprompts: int = Field(default=2, ge=0, le=5)
    max_spoken_chars: int = Field(default=300, ge=40, le=2000)
    dial_timeout: timedelta = Field(default=timedelta(seconds=30))
    sms_from: str | None = Field(default=None, description="sender number for citation SMS; None: no SMS")

    @field_validator("trusted_proxies", "hints", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except ValueError:
                pass  # not JSON after all: split it like any other value
        return tuple(part.strip() for part in value.split(",") if part.strip())

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an IP address or CIDR: {item!r}") from exc
        return value

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _timeout_fits_model(self) -> TwilioChannelConfig:
        if self.speech_model and self.speech_timeout == "auto":
            raise ValueError(
                "speech_timeout must be a number of seconds when speech_model is set (Twilio 13335)"
            )
        return self

    def reply_budget_for(self, *, embedded: bool) -> timedelta:
        """How long the dialogue may take over a caller's turn: ``answer_deadline`` less a margin, so the
        (extractive) fallback is ready before the polls give up; with the embedded model, whose prompt
        read alone takes tens of seconds on a CPU, ``embedded_answer_budget`` (never more)."""
        margin = min(timedelta(seconds=3), self.answer_deadline / 4)
        budget = self.answer_deadline - margin
        return min(self.embedded_answer_budget, budget) if embedded else budget

    def proxy_networks(self) -> tuple[ProxyNetwork, ...]:
        return tuple(ip_network(item, strict=False) for item in self.trusted_proxies)


def resolve_auth_token(configured: SecretStr | None, data_dir: Path) -> SecretStr:
    """The configured token, else a development token generated once into ``data_dir`` (mode 0600).

    The token itself is never logged. Real Twilio traffic signs with the account's token, so a
    server running on a development token rejects it with 403 (it fails closed).
    """
    if configured is not None and configured.get_secret_value().strip():
        return SecretStr(configured.get_secret_value().strip())
    path = data_dir / DEV_TOKEN_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_dev_token(path)
    except OSError as exc:
        raise ConfigurationError(
            f"DASAN_TWILIO__AUTH_TOKEN is unset and {path} cannot be created: {exc}"
        ) from exc
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    _logger.warning(
        "DASAN_TWILIO__AUTH_TOKEN is unset: generated a development Twilio auth token in %s; "
        "requests signed by real Twilio will be rejected until the account's token is configured",
        path,
    )
    return SecretStr(token)


def _read_dev_token(path: Path) -> SecretStr:
    try:
        token = path.read_text(encoding="ascii").strip()
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the development Twilio token {path}: {exc}") from exc
    if not token:
        raise ConfigurationError(f"the development Twilio token {path} is empty; delete it to regenerate")
    _logger.info("using the development Twilio auth token in %s", path)
    return SecretStr(token)
