"""``KakaoSkillResponse``: SkillResponse v2.0, with Kakao's size limits enforced on construction.

Only the components this channel emits are modelled: ``simpleText``, ``basicCard`` (with an optional
thumbnail) and ``listCard`` outputs, ``message`` quick replies, and ``webLink``, ``message``, ``phone``
and ``operator`` buttons. Limits (see ../shared/protocols/kakao/NOTES.md §3): 1–3 outputs, ≤ 10 quick
replies, labels ≤ 14 characters (counted per character, not per byte), simpleText ≤ 1000, basicCard
title ≤ 50 / description ≤ 230 / buttons ≤ 3, listCard header and item titles ≤ 50, items ≤ 5,
buttons ≤ 2.
"""

from __future__ import annotations

from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

SKILL_VERSION: Final = "2.0"
MAX_OUTPUTS = 3
MAX_QUICK_REPLIES = 10
MAX_LABEL_CHARS = 14
MAX_SIMPLE_TEXT_CHARS = 1000
MAX_CARD_TITLE_CHARS = 50
MAX_CARD_DESCRIPTION_CHARS = 230
MAX_CARD_BUTTONS = 3
MAX_LIST_ITEMS = 5
MAX_LIST_BUTTONS = 2
MAX_MESSAGE_TEXT_CHARS = 1000

ButtonAction = Literal["webLink", "message", "phone", "operator"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KakaoButton(_Wire):
    action: ButtonAction
    label: str = Field(min_length=1, max_length=MAX_LABEL_CHARS)
    webLinkUrl: str | None = Field(default=None, pattern=r"^https?://")
    messageText: str | None = Field(default=None, min_length=1, max_length=MAX_MESSAGE_TEXT_CHARS)
    phoneNumber: str | None = Field(default=None, pattern=r"^[0-9+][0-9-]*$")

    @model_validator(mode="after")
    def _target_matches_action(self) -> Self:
        required = {"webLink": "webLinkUrl", "message": "messageText", "phone": "phoneNumber"}
        needed = required.get(self.action)
        if needed is not None and getattr(self, needed) is None:
            raise ValueError(f"a {self.action} button needs {needed}")
        return self


class KakaoQuickReply(_Wire):
    action: Literal["message"] = "message"
    label: str = Field(min_length=1, max_length=MAX_LABEL_CHARS)
    messageText: str = Field(min_length=1, max_length=MAX_MESSAGE_TEXT_CHARS)


class KakaoSimpleText(_Wire):
    text: str = Field(min_length=1, max_length=MAX_SIMPLE_TEXT_CHARS)


class KakaoThumbnail(_Wire):
    imageUrl: str = Field(pattern=r"^https?://")


class KakaoBasicCard(_Wire):
    title: str | None = Field(default=None, min_length=1, max_length=MAX_CARD_TITLE_CHARS)
    description: str | None = Field(default=None, min_length=1, max_length=MAX_CARD_DESCRIPTION_CHARS)
    thumbnail: KakaoThumbnail | None = None
    buttons: tuple[KakaoButton, ...] = Field(default=(), max_length=MAX_CARD_BUTTONS)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.title is None and self.description is None:
            raise ValueError("a basicCard needs a title or a description")
        return self


class KakaoListLink(_Wire):
    web: str = Field(pattern=r"^https?://")


class KakaoListItem(_Wire):
    title: str = Field(min_length=1, max_length=MAX_CARD_TITLE_CHARS)
    description: str | None = Field(default=None, min_length=1, max_length=MAX_CARD_DESCRIPTION_CHARS)
    link: KakaoListLink | None = None


class KakaoListHeader(_Wire):
    title: str = Field(min_length=1, max_length=MAX_CARD_TITLE_CHARS)


class KakaoListCard(_Wire):
    header: KakaoListHeader
    items: tuple[KakaoListItem, ...] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    buttons: tuple[KakaoButton, ...] = Field(default=(), max_length=MAX_LIST_BUTTONS)


class SimpleTextOutput(_Wire):
    simpleText: KakaoSimpleText


class BasicCardOutput(_Wire):
    basicCard: KakaoBasicCard


class ListCardOutput(_Wire):
    listCard: KakaoListCard


KakaoOutput = SimpleTextOutput | BasicCardOutput | ListCardOutput


class KakaoTemplate(_Wire):
    outputs: tuple[KakaoOutput, ...] = Field(min_length=1, max_length=MAX_OUTPUTS)
    quickReplies: tuple[KakaoQuickReply, ...] = Field(default=(), max_length=MAX_QUICK_REPLIES)


class KakaoSkillResponse(_Wire):
    """A SkillResponse: either a ``template`` to show, or a ``useCallback`` acknowledgement."""

    version: Literal["2.0"] = SKILL_VERSION
    template: KakaoTemplate | None = None
    useCallback: bool | None = None
    data: dict[str, str] | None = None

    @model_validator(mode="after")
    def _template_or_callback(self) -> Self:
        if self.useCallback:
            if self.template is not None:
                raise ValueError("a useCallback acknowledgement carries no template")
        elif self.template is None:
            raise ValueError("a skill response needs a template")
        return self

    def to_json(self) -> dict[str, Any]:
        """The wire JSON: absent fields are left out, ``quickReplies`` only when there are some."""
        body = self.model_dump(mode="json", exclude_none=True)
        template = body.get("template")
        if template is not None and not template.get("quickReplies"):
            template.pop("quickReplies", None)
        for output in template.get("outputs", ()) if template is not None else ():
            card = output.get("basicCard") or output.get("listCard")
            if card is not None and not card.get("buttons"):
                card.pop("buttons", None)
        return body
