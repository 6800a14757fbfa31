"""Deterministic safety checks run on every turn before any LLM: emergencies, crises, prompt injection.

``SafetyRules.classify`` recognises emergencies (fire, gas, collapse, crime, medical, rescue: call 119
or 112 now) and crises (suicide, self-harm: 109 and 1577-0199), and ``InjectionGuard.check``
recognises attempts to override instructions, leak the prompt or read other people's data. Both are
pure pattern matching over folded text (see ``folding``), typically well under a millisecond, and
their patterns and guidance live in ``safety_rules.yaml``. ``SafetyScreen`` runs both on one fold;
an emergency or crisis always wins over an injection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.dialogue.folding import FoldedText, fold
from assistant.dialogue.safety_rulebook import RuleCategory, SafetyRulebook

VerdictKind = Literal["none", "emergency", "crisis", "injection"]


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    """What the safety layer decided about one utterance.

    ``category`` names the rule category (``fire``, ``gas``, ``collapse``, ``crime``, ``medical``,
    ``rescue``, ``suicide``, ``self_harm``; ``override``, ``prompt_leak``, ``jailbreak``,
    ``data_exfiltration`` for injections). ``matched`` is the stretch of the user's text that
    triggered it. ``guidance`` is Korean reply text (``spoken_guidance`` reads hotline numbers
    out, for voice). Emergencies and crises set ``flag_for_human``.
    """

    kind: VerdictKind
    category: str | None = None
    matched: str | None = None
    guidance: str | None = None
    spoken_guidance: str | None = None
    flag_for_human: bool = False

    @property
    def triggered(self) -> bool:
        return self.kind != "none"


NO_VERDICT = SafetyVerdict(kind="none")


def _verdict(category: RuleCategory, matched: str) -> SafetyVerdict:
    return SafetyVerdict(
        kind=category.kind,
        category=category.name,
        matched=matched,
        guidance=category.guidance,
        spoken_guidance=category.spoken_guidance,
        flag_for_human=category.kind in ("emergency", "crisis"),
    )


def _first_match(categories: tuple[RuleCategory, ...], folded: FoldedText) -> SafetyVerdict:
    for category in categories:
        matched = category.find(folded)
        if matched is not None:
            return _verdict(category, matched)
    return NO_VERDICT


class SafetyRules:
    """Classifies an utterance as an emergency, a crisis, or neither.

    Categories are tried in the rulebook's order and the first match wins.
    """

    def __init__(self, rulebook: SafetyRulebook) -> None:
        self._categories = rulebook.categories

    def classify(self, text: str) -> SafetyVerdict:
        return self.classify_folded(fold(text))

    def classify_folded(self, folded: FoldedText) -> SafetyVerdict:
        return _first_match(self._categories, folded)


class InjectionGuard:
    """Flags conservative, pattern-based prompt-injection attempts so the dialogue declines politely."""

    def __init__(self, rulebook: SafetyRulebook) -> None:
        self._categories = rulebook.injection

    def check(self, text: str) -> SafetyVerdict:
        return self.check_folded(fold(text))

    def check_folded(self, folded: FoldedText) -> SafetyVerdict:
        return _first_match(self._categories, folded)


class SafetyScreen:
    """Both checks on one fold of the text: an emergency or crisis first, then an injection."""

    def __init__(self, rules: SafetyRules, guard: InjectionGuard) -> None:
        self._rules = rules
        self._guard = guard

    def screen(self, text: str) -> SafetyVerdict:
        folded = fold(text)
        verdict = self._rules.classify_folded(folded)
        return verdict if verdict.triggered else self._guard.check_folded(folded)
