"""``KakaoSkillRequest``: the SkillPayload Kakao i Open Builder POSTs to the skill URL (tolerant reader).

Only what the channel uses is typed; every other key (``intent.extra``, ``action.detailParams``,
``properties.accountId``, snake_case duplicates such as ``bot_user_key``) is accepted and ignored.
Both the current payload (``lang: "ko"``, ``user.type: "botUserKey"``) and the v1 docs example
(``lang: "kr"``, ``user.type: "talk_user_id"``, ``clientExtra: "null"``) validate.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

MAX_UTTERANCE_CHARS = 4000
"""Kakao caps what a user can type far below this; longer payloads are rejected as malformed."""


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class KakaoBot(_Tolerant):
    id: str = Field(min_length=1, max_length=200)
    name: str = ""


class KakaoBlock(_Tolerant):
    id: str = ""
    name: str = ""


class KakaoIntent(_Tolerant):
    id: str = ""
    name: str = ""


class KakaoUserProperties(_Tolerant):
    """Extra user ids. Kakao sent both camelCase and snake_case spellings of the same key."""

    bot_user_key: str | None = Field(
        default=None, validation_alias=AliasChoices("botUserKey", "bot_user_key")
    )
    plusfriend_user_key: str | None = Field(
        default=None, validation_alias=AliasChoices("plusfriendUserKey", "plusfriend_user_key")
    )
    app_user_id: str | None = Field(default=None, validation_alias=AliasChoices("appUserId", "app_user_id"))

    @field_validator("bot_user_key", "plusfriend_user_key", "app_user_id", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class KakaoUser(_Tolerant):
    """``id`` is the bot-scoped user key (``type`` "botUserKey"; "talk_user_id" in the v1 docs)."""

    id: str = Field(min_length=1, max_length=256)
    type: str = "botUserKey"
    properties: KakaoUserProperties = KakaoUserProperties()

    @field_validator("id", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class KakaoUserRequest(_Tolerant):
    utterance: str = Field(max_length=MAX_UTTERANCE_CHARS)
    user: KakaoUser
    block: KakaoBlock = KakaoBlock()
    lang: str | None = None
    timezone: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    callbackUrl: str | None = Field(default=None, max_length=2000)

    @field_validator("lang", mode="after")
    @classmethod
    def _normalise_lang(cls, value: str | None) -> str | None:
        """The v1 docs say "kr"; current payloads say "ko". Both mean Korean."""
        if value is None:
            return None
        lowered = value.strip().lower()
        return "ko" if lowered == "kr" else lowered

    @field_validator("callbackUrl", mode="after")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None


class KakaoAction(_Tolerant):
    id: str = ""
    name: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    clientExtra: dict[str, Any] | str | None = None


class KakaoSkillRequest(_Tolerant):
    """The SkillPayload. ``userRequest`` and ``bot`` are required; the rest is optional context."""

    userRequest: KakaoUserRequest
    bot: KakaoBot
    intent: KakaoIntent = KakaoIntent()
    action: KakaoAction = KakaoAction()
    contexts: list[Any] = Field(default_factory=list)

    @property
    def callback_url(self) -> str | None:
        return self.userRequest.callbackUrl

    @property
    def user_key(self) -> str:
        """The bot-scoped user key that identifies the conversation (PII: never log it)."""
        return self.userRequest.user.id
