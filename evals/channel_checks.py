"""Channel conformance as pure functions: Kakao skill-response limits, TwiML validity, spoken style.

Each function returns a list of violations (empty when the output conforms), phrased for a report.
Limits are from ``../shared/protocols/kakao/NOTES.md`` and Twilio's TwiML reference; lengths are
counted per character after NFC normalisation, as Kakao counts them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

KAKAO_VERSION = "2.0"
KAKAO_MAX_OUTPUTS = 3
KAKAO_MAX_TEXT = 1000
KAKAO_MAX_QUICK_REPLIES = 10
KAKAO_MAX_LABEL = 14
KAKAO_MAX_CARD_TITLE = 50
KAKAO_MAX_CARD_DESCRIPTION = 230
KAKAO_MAX_CARD_BUTTONS = 3
KAKAO_MAX_LIST_ITEMS = 5
KAKAO_MAX_LIST_BUTTONS = 2
KAKAO_COMPONENTS = frozenset(
    {"simpleText", "simpleImage", "basicCard", "commerceCard", "listCard", "itemCard", "carousel"}
)

TWIML_VERBS = frozenset(
    {"Say", "Play", "Gather", "Dial", "Hangup", "Redirect", "Pause", "Record", "Reject", "Sms", "Message"}
    | {"Enqueue", "Leave", "Connect", "Refer", "Pay", "Prompt", "Start", "Stop"}
)
TWIML_GATHER_CHILDREN = frozenset({"Say", "Play", "Pause"})
TWIML_TERMINAL = frozenset({"Hangup", "Redirect", "Reject"})
POLLY_MAX_SAY_BYTES = 3000
"""Polly voices take at most 3,000 UTF-8 bytes per ``<Say>`` (Twilio warning 13521): ~1,000 Hangul."""

_CITATION_MARKER = re.compile(r"\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\]")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
_MARKDOWN = re.compile(
    r"\*\*|__|`|^\s{0,3}#{1,6}\s|^\s*[-*+]\s|^\s*\d+\.\s|\[[^\]]+\]\([^)]+\)", re.MULTILINE
)
_KAKAO_MARKUP = re.compile(r"\*\*|__|`|^\s{0,3}#{1,6}\s|\[[^\]]+\]\([^)]+\)", re.MULTILINE)
"""Markdown that a Kakao speech bubble shows as literal symbols: emphasis, code, headings, links. Plain
"1. …" and "- …" lines are not in it: they read as intended in plain text (the flows use them)."""
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f000-\U0001f2ff]")
_SENTENCE_END = re.compile(r"[.!?。…]+(?=\s|$)|(?<=[요다죠까])(?=\s*$)")


def char_length(text: str) -> int:
    return len(unicodedata.normalize("NFC", text))


def kakao_violations(payload: Mapping[str, Any]) -> list[str]:
    """Problems with a Kakao i Open Builder SkillResponse (version 2.0)."""
    problems: list[str] = []
    if payload.get("version") != KAKAO_VERSION:
        problems.append(f"version must be {KAKAO_VERSION!r}, got {payload.get('version')!r}")
    if payload.get("useCallback") is True:
        return problems
    template = payload.get("template")
    if not isinstance(template, Mapping):
        return [*problems, "template is missing"]
    outputs = template.get("outputs")
    if not isinstance(outputs, Sequence) or not 1 <= len(outputs) <= KAKAO_MAX_OUTPUTS:
        count = len(outputs) if isinstance(outputs, Sequence) else 0
        problems.append(f"outputs: {count}, allowed 1–{KAKAO_MAX_OUTPUTS}")
        outputs = outputs if isinstance(outputs, Sequence) else []
    for index, output in enumerate(outputs):
        problems += [f"outputs[{index}]: {p}" for p in _component_violations(output)]
    quick = template.get("quickReplies", [])
    if not isinstance(quick, Sequence):
        problems.append("quickReplies must be a list")
        quick = []
    if len(quick) > KAKAO_MAX_QUICK_REPLIES:
        problems.append(f"quickReplies: {len(quick)}, allowed {KAKAO_MAX_QUICK_REPLIES}")
    for index, item in enumerate(quick):
        problems += [f"quickReplies[{index}]: {p}" for p in _quick_reply_violations(item)]
    return problems


def _component_violations(output: object) -> list[str]:
    if not isinstance(output, Mapping) or len(output) != 1:
        return ["a component is an object with exactly one key"]
    [(name, body)] = output.items()
    if name not in KAKAO_COMPONENTS:
        return [f"unknown component {name!r}"]
    if not isinstance(body, Mapping):
        return [f"{name} must be an object"]
    problems: list[str] = []
    if name == "simpleText":
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.append("simpleText.text is empty")
        elif char_length(text) > KAKAO_MAX_TEXT:
            problems.append(f"simpleText.text has {char_length(text)} characters, allowed {KAKAO_MAX_TEXT}")
        elif _KAKAO_MARKUP.search(text):
            problems.append("simpleText.text contains markdown, which Kakao shows verbatim")
    elif name == "basicCard":
        problems += _limit(body, "title", KAKAO_MAX_CARD_TITLE)
        problems += _limit(body, "description", KAKAO_MAX_CARD_DESCRIPTION)
        problems += _buttons(body, KAKAO_MAX_CARD_BUTTONS)
    elif name == "listCard":
        items = body.get("items", [])
        if not isinstance(items, Sequence) or not 1 <= len(items) <= KAKAO_MAX_LIST_ITEMS:
            problems.append(f"listCard.items: allowed 1–{KAKAO_MAX_LIST_ITEMS}")
        problems += _buttons(body, KAKAO_MAX_LIST_BUTTONS)
    return problems


def _limit(body: Mapping[str, Any], key: str, limit: int) -> list[str]:
    value = body.get(key)
    if isinstance(value, str) and char_length(value) > limit:
        return [f"{key} has {char_length(value)} characters, allowed {limit}"]
    return []


def _buttons(body: Mapping[str, Any], limit: int) -> list[str]:
    buttons = body.get("buttons", [])
    if not isinstance(buttons, Sequence):
        return ["buttons must be a list"]
    problems = [f"buttons: {len(buttons)}, allowed {limit}"] if len(buttons) > limit else []
    for index, button in enumerate(buttons):
        label = button.get("label") if isinstance(button, Mapping) else None
        if not isinstance(label, str) or not label.strip():
            problems.append(f"buttons[{index}].label is empty")
        elif char_length(label) > KAKAO_MAX_LABEL:
            problems.append(
                f"buttons[{index}].label has {char_length(label)} characters, allowed {KAKAO_MAX_LABEL}"
            )
    return problems


def _quick_reply_violations(item: object) -> list[str]:
    if not isinstance(item, Mapping):
        return ["must be an object"]
    problems: list[str] = []
    label = item.get("label")
    if not isinstance(label, str) or not label.strip():
        problems.append("label is empty")
    elif char_length(label) > KAKAO_MAX_LABEL:
        problems.append(f"label {label!r} has {char_length(label)} characters, allowed {KAKAO_MAX_LABEL}")
    action = item.get("action")
    if action == "message":
        if not isinstance(item.get("messageText"), str) or not item["messageText"].strip():
            problems.append("a message quick reply needs messageText")
    elif action == "block":
        if not item.get("blockId"):
            problems.append("a block quick reply needs blockId")
    else:
        problems.append(f"action must be 'message' or 'block', got {action!r}")
    return problems


def twiml_violations(document: str, *, language: str = "ko-KR") -> list[str]:
    """Problems with a TwiML voice response: well-formed, known verbs, Korean speech, nothing after an end."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag != "Response":
        return [f"root element must be <Response>, got <{root.tag}>"]
    problems: list[str] = []
    ended_by: str | None = None
    for index, verb in enumerate(root):
        where = f"<{verb.tag}> #{index + 1}"
        if ended_by is not None:
            problems.append(f"{where} comes after <{ended_by}> and never runs")
        if verb.tag not in TWIML_VERBS:
            problems.append(f"{where}: unknown verb")
            continue
        problems += [f"{where}: {p}" for p in _verb_violations(verb, language)]
        if verb.tag in TWIML_TERMINAL:
            ended_by = verb.tag
    return problems


def _verb_violations(verb: ElementTree.Element, language: str) -> list[str]:
    problems: list[str] = []
    if verb.tag == "Say":
        problems += _say_violations(verb, language)
    elif verb.tag == "Gather":
        kinds = set((verb.get("input") or "dtmf").split())
        if not kinds or not kinds <= {"speech", "dtmf"}:
            problems.append(f"input must be speech and/or dtmf, got {verb.get('input')!r}")
        if "speech" in kinds and verb.get("language") != language:
            problems.append(f"a speech <Gather> needs language={language!r}")
        for child in verb:
            if child.tag not in TWIML_GATHER_CHILDREN:
                problems.append(f"<{child.tag}> is not allowed inside <Gather>")
            elif child.tag == "Say":
                problems += _say_violations(child, language)
    elif verb.tag == "Dial":
        if not (verb.text or "").strip() and len(verb) == 0:
            problems.append("<Dial> has no number or nested noun")
    elif verb.tag == "Redirect" and not (verb.text or "").strip():
        problems.append("<Redirect> has no URL")
    return problems


def _say_violations(say: ElementTree.Element, language: str) -> list[str]:
    text = "".join(say.itertext())
    problems: list[str] = []
    if say.get("language") != language:
        problems.append(f"<Say> needs language={language!r}, got {say.get('language')!r}")
    if not text.strip():
        problems.append("<Say> is empty")
    if len(text.encode("utf-8")) > POLLY_MAX_SAY_BYTES:
        problems.append(
            f"<Say> has {len(text.encode('utf-8'))} UTF-8 bytes, Polly allows {POLLY_MAX_SAY_BYTES}"
        )
    problems += spoken_style_violations(text)
    return problems


def spoken_style_violations(text: str, *, max_sentences: int | None = None) -> list[str]:
    """What a listener should not hear: citation markers, URLs, markdown, emoji; optionally too many
    sentences (the voice prompt asks for at most three)."""
    problems: list[str] = []
    if _CITATION_MARKER.search(text):
        problems.append("citation markers like [1] are read aloud")
    if _URL.search(text):
        problems.append("a URL is read aloud")
    if _MARKDOWN.search(text):
        problems.append("markdown syntax is read aloud")
    if _EMOJI.search(text):
        problems.append("emoji cannot be spoken")
    if max_sentences is not None:
        count = sentence_count(text)
        if count > max_sentences:
            problems.append(f"{count} sentences, at most {max_sentences} for voice")
    return problems


def sentence_count(text: str) -> int:
    stripped = text.strip()
    if not stripped:
        return 0
    return max(1, len(_SENTENCE_END.findall(stripped)))
