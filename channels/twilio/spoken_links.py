"""Web and e-mail addresses taken out of text for the ear, without leaving a broken sentence behind.

A caller cannot use "https://www.gov.kr", but deleting it blindly breaks the grammar whenever the
address carried a particle ("신청은 https://www.gov.kr에서 하세요" → "신청은 에서 하세요"). So, in order:

* an address in parentheses goes with them: "정부24(gov.kr)에서" → "정부24에서";
* a sentence that only states an address ("주소는 https://…입니다") is dropped;
* after a word that already names the site ("복지로 누리집 www.bokjiro.go.kr에서") the address goes
  and its particle joins that word ("복지로 누리집에서"); otherwise "홈페이지" (a link) or "이메일" (an
  e-mail address) takes its place, the particle fitted to the new word ("https://x.kr로" → "홈페이지로");
* a label keeps its name ("정부24: https://www.gov.kr" → "정부24"), a topic left hanging is completed
  ("자세한 내용은 https://…" → "자세한 내용은 홈페이지에서 확인해 주세요"), a line that is only an
  address goes, and anywhere else the address becomes "홈페이지" / "이메일".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATH = r"(?:[/?#][A-Za-z0-9\-._~:/?#@!$&'*+,;=%]*[A-Za-z0-9\-_~/#=&%+])?"
_SCHEME_URL = r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]*[A-Za-z0-9\-_~/#=&%+]"
_BARE_DOMAIN = (
    r"(?<![\w@.\-/])(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"(?:kr|com|net|org|info|io|biz)(?![A-Za-z0-9\-])" + _PATH
)
_EMAIL = r"(?<![\w.])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_ADDRESS = re.compile(f"(?P<email>{_EMAIL})|(?P<link>{_SCHEME_URL}|{_BARE_DOMAIN})", re.IGNORECASE)

_SENTENCE_END = re.compile(r"(?<=[.!?。？！])\s+")
_BOUNDARY = r"(?=[\s.,!?;:)\]'\"”’]|$)"

# Particles whose form depends on the final sound of the word before them: (after a consonant,
# after a vowel). The 으로 family takes the vowel form after ㄹ as well.
_PAIRS: tuple[tuple[str, str], ...] = (
    ("을", "를"),
    ("이", "가"),
    ("은", "는"),
    ("과", "와"),
    ("이나", "나"),
    ("이랑", "랑"),
    ("이라고", "라고"),
    ("이라도", "라도"),
    ("으로", "로"),
    ("으로는", "로는"),
    ("으로도", "로도"),
    ("으로만", "로만"),
    ("으로서", "로서"),
)
_FIXED: tuple[str, ...] = (
    *("에서는", "에서도", "에서만", "에서", "에게", "에는", "에도", "에만", "에", "의", "도", "만"),
    *("까지", "부터", "처럼", "보다", "마다"),
)
_FORMS = {form: pair for pair in _PAIRS for form in pair}
_PARTICLES = sorted({*_FORMS, *_FIXED}, key=len, reverse=True)
_PARTICLE_AFTER = re.compile(r"\s*(" + "|".join(_PARTICLES) + ")" + _BOUNDARY)
_COPULA_AFTER = re.compile(r"\s*(?:입니다|이에요|예요|이고|이며|이다|이니|임)" + _BOUNDARY)
_OPEN_PAREN_BEFORE = re.compile(r"\s*\(\s*$")
_CLOSE_PAREN_AFTER = re.compile(r"\s*\)")
_LABEL_BEFORE = re.compile(r"\s*[:：]\s*$")
_TOPIC_BEFORE = re.compile(r"[가-힣](?:은|는)\s+$")
_NOTHING = re.compile(r"^[\s.,!?;:。？！\-*+•·>]*$")


@dataclass(frozen=True, slots=True)
class _Kind:
    noun: str
    site_words: re.Pattern[str]
    """A word right before the address that already says what it is."""
    where_to_look: str
    """Completes "자세한 내용은 …" when the address ended the sentence."""


_LINK = _Kind(
    noun="홈페이지",
    site_words=re.compile(r"(?:누리집|홈페이지|웹사이트|사이트|포털|페이지|앱|블로그|카페)\s*$"),
    where_to_look="홈페이지에서 확인해 주세요",
)
_MAIL = _Kind(
    noun="이메일",
    site_words=re.compile(r"(?:이메일|메일|전자우편)(?:\s*주소)?\s*$"),
    where_to_look="이메일로 문의해 주세요",
)


def without_addresses(text: str) -> str:
    """``text`` with every web and e-mail address removed or rephrased (see the module docstring)."""
    return "\n".join(_line(line) for line in text.split("\n"))


def fit_particle(particle: str, word: str) -> str:
    """The form of ``particle`` that follows ``word`` ("을" after "홈페이지" is "를"); unchanged when
    the particle has one form or the word does not end in a Hangul syllable."""
    forms = _FORMS.get(particle)
    if forms is None or not word or not "가" <= word[-1] <= "힣":
        return particle
    consonant, vowel = forms
    final = (ord(word[-1]) - ord("가")) % 28  # 0: no final consonant, 8: ㄹ
    return vowel if final == 0 or (final == 8 and consonant.startswith("으")) else consonant


def _line(line: str) -> str:
    if not _ADDRESS.search(line):
        return line
    kept = (_sentence(sentence) for sentence in _SENTENCE_END.split(line))
    return " ".join(sentence for sentence in kept if sentence is not None and sentence.strip())


def _sentence(sentence: str) -> str | None:
    """The sentence without its addresses, or None when it only stated one."""
    position = 0
    while match := _ADDRESS.search(sentence, position):
        kind = _MAIL if match.group("email") else _LINK
        rewritten = _rewrite(sentence[: match.start()], sentence[match.end() :], kind)
        if rewritten is None:
            return None
        head, tail = rewritten
        sentence, position = head + tail, len(head)
    return sentence


def _rewrite(before: str, after: str, kind: _Kind) -> tuple[str, str] | None:
    """What replaces ``before`` + address + ``after``, split where scanning resumes; None drops it."""
    opening, closing = _OPEN_PAREN_BEFORE.search(before), _CLOSE_PAREN_AFTER.match(after)
    if opening and closing:
        head, tail = before[: opening.start()], after[closing.end() :]
        particle = _PARTICLE_AFTER.match(tail)
        if particle:
            return head, fit_particle(particle.group(1), head) + tail[particle.end() :]
        return head, tail
    if _COPULA_AFTER.match(after):
        return None
    particle = _PARTICLE_AFTER.match(after)
    named = kind.site_words.search(before)
    if particle:
        word = before.rstrip() if named else before + kind.noun
        return word + fit_particle(particle.group(1), word), after[particle.end() :]
    label = _LABEL_BEFORE.search(before)
    if label:
        return before[: label.start()], after
    if named:
        return before.rstrip(), after
    if _NOTHING.match(after):
        if _TOPIC_BEFORE.search(before):
            return before + kind.where_to_look, after
        if _NOTHING.match(before):
            return before, after
    return before + kind.noun, after
