"""RuleCommandParser: Korean text → flow commands by rules, given the running flow (a ``CommandSource``).

Without a running flow, a flow's triggers start it (with the slots the text already gives, for steps
marked ``prefill``). In a flow, in this order: a human (상담원…) → ``Handoff``; a short 취소/그만 →
``Cancel``; "<label>은 X로 바꿔줘" / "아니 <label>는 X예요" / "X로 바꿔줘" → ``Correct``; at a yes/no
question 네/아니요 → ``Affirm``/``Deny``; a question that does not answer the pending step →
``Digress``; anything else → ``UserText``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.dialogue.flows.choices import fold, fold_answer
from assistant.dialogue.flows.commands import (
    Affirm,
    Cancel,
    Command,
    Correct,
    Deny,
    Digress,
    Handoff,
    SetSlot,
    StartFlow,
    UserText,
)
from assistant.dialogue.flows.loader import FlowCatalog
from assistant.dialogue.flows.spec import CollectStep, ConfirmStep, FlowSpec
from assistant.dialogue.flows.state import FlowState, SlotValue
from assistant.dialogue.flows.validators import SlotValidators, Valid
from assistant.dialogue.flows.words import CommandWords

_QUESTION_END = re.compile(
    r"(?:나요|까요|가요|니까|는지요|던가요|을까|ㄹ까|어때요|뭐예요|뭐에요|뭔가요|얼마예요|얼마에요|뭐지|거죠|건가요)$"
)
_COPULA_END = re.compile(r"\s*(?:이에요|예요|에요|입니다|이요|요|이야|야|이라고요|라고요)?\s*[.!~]*$")


def looks_like_question(text: str) -> bool:
    """A question mark, or a Korean interrogative ending ("…나요", "…까요", "얼마예요")."""
    stripped = text.strip()
    return stripped.endswith(("?", "？")) or _QUESTION_END.search(fold(stripped)) is not None


class RuleCommandParser:
    """A ``CommandSource`` of rules; the LLM command generator can replace it behind the same Protocol."""

    def __init__(
        self, flows: FlowCatalog, validators: SlotValidators, words: CommandWords | None = None
    ) -> None:
        self._flows = flows
        self._validators = validators
        self._words = words or CommandWords()
        verbs = "|".join(self._words.change_verbs)
        self._change = re.compile(rf"(?P<value>.*?)\s*(?:(?:으로|로)\s*)?(?:{verbs})")

    async def commands(self, text: str, state: FlowState | None) -> Sequence[Command]:
        return self._parse(text.strip(), state)

    def _parse(self, text: str, state: FlowState | None) -> tuple[Command, ...]:
        if not text:
            return ()
        if state is None or not state.is_running or state.flow_id not in self._flows:
            flow = self._triggered(text)
            return (StartFlow(flow.id), *self._prefill(flow, text)) if flow is not None else ()
        flow = self._flows.get(state.flow_id)
        folded = fold(text)
        short = len(folded) <= self._words.short_answer_chars
        if any(word in folded for word in self._words.handoff):
            return (Handoff(),)
        if short and not looks_like_question(text) and any(word in folded for word in self._words.cancel):
            return (Cancel(),)
        correction = self._correction(flow, state, text)
        if correction is not None:
            return (correction,)
        step = flow.step(state.step_id)
        if state.offering_handoff or isinstance(step, ConfirmStep):
            if self._is_yes(text):
                return (Affirm(),)
            if self._is_no(text):
                return (Deny(),)
            if isinstance(step, ConfirmStep) and (named := self._named_slot(flow, folded)) is not None:
                return (Correct(named.collect, None),)
            return (Digress(text),) if looks_like_question(text) else (UserText(text),)
        if isinstance(step, CollectStep) and looks_like_question(text):
            answers = step.slot_type != "text" and isinstance(
                self._validators.validate(step, text, state.slots), Valid
            )
            if not answers:
                return (Digress(text),)
        return (UserText(text),)

    # -- starting ----------------------------------------------------------------------------------------

    def _triggered(self, text: str) -> FlowSpec | None:
        folded = fold(text)
        for flow in self._flows:
            triggers = flow.triggers
            if any(fold(word) in folded for word in triggers.exclude):
                continue
            if any(fold(phrase) in folded for phrase in triggers.phrases) or any(
                all(fold(word) in folded for word in group) for group in triggers.keywords
            ):
                return flow
        return None

    def _prefill(self, flow: FlowSpec, text: str) -> list[Command]:
        slots: dict[str, SlotValue] = {}
        found: list[Command] = []
        for step in flow.collect_steps:
            if not step.prefill:
                continue
            value = self._validators.extract(step, text, slots)
            if isinstance(value, str):
                slots[step.collect] = value
                found.append(SetSlot(step.collect, value))
        return found

    # -- corrections -------------------------------------------------------------------------------------

    def _correction(self, flow: FlowSpec, state: FlowState, text: str) -> Correct | None:
        folded = fold(text)
        has_verb = any(verb in folded for verb in self._words.change_verbs)
        denies = self._is_no(text)
        if not has_verb and not denies:
            return None
        body = re.sub(r"^\s*(?:아니요|아니오|아뇨|아니)[\s,.!]*", "", text)
        labelled = self._labelled(flow, body)
        if labelled is not None:
            step, rest = labelled
            value = self._value(rest, has_verb)
            return Correct(step.collect, value or None) if value or has_verb else None
        pending = flow.step(state.step_id)
        free_text = isinstance(pending, CollectStep) and pending.slot_type == "text"
        if (
            free_text
            or looks_like_question(text)
            or not any(v in folded for v in self._words.value_change_verbs)
        ):
            return None
        value = self._value(body, has_verb=True)
        if not value:
            return None
        filled = [s for s in flow.collect_steps if s.collect in state.slots and s.slot_type != "text"]
        fits = [s for s in filled if isinstance(self._validators.validate(s, value, state.slots), Valid)]
        if not fits:  # a value of the right kind that the step refuses: the executor says why
            fits = [s for s in filled if self._validators.extract(s, value, state.slots) is not None]
        return Correct(fits[0].collect, value) if len(fits) == 1 else None

    def _labelled(self, flow: FlowSpec, text: str) -> tuple[CollectStep, str] | None:
        """The step whose label (or alias) opens ``text`` ("주소는 …"), and what follows it."""
        for step in flow.collect_steps:
            for name in sorted((step.label, *step.aliases), key=len, reverse=True):
                pattern = rf"^\s*{re.escape(name)}(?:(?:은|는|을|를|이|가|도)\s*|\s+|$)"
                found = re.match(pattern, text)
                if found is not None:
                    return step, text[found.end() :]
        return None

    def _value(self, text: str, has_verb: bool) -> str:
        if has_verb:
            found = self._change.match(text)
            return found.group("value").strip(" ,.") if found else ""
        return _COPULA_END.sub("", text).strip(" ,.")

    def _named_slot(self, flow: FlowSpec, folded: str) -> CollectStep | None:
        answer = fold_answer(folded)
        for step in flow.collect_steps:
            if answer in {fold(step.label), *(fold(a) for a in step.aliases)}:
                return step
        return None

    # -- yes and no --------------------------------------------------------------------------------------

    def _first_word(self, text: str) -> str:
        words = re.split(r"[\s,.!?~]+", text.strip())
        return fold_answer(words[0]) if words and words[0] else ""

    def _is_yes(self, text: str) -> bool:
        yes = self._words.yes
        first = re.split(r"[\s,.!?~]+", text.strip())[0]
        if {fold(first), fold_answer(first), fold(text), fold_answer(text)} & set(yes):
            return True
        return any(fold(text).startswith(word) for word in yes if len(word) >= 3)

    def _is_no(self, text: str) -> bool:
        first = self._first_word(text)
        return bool(first) and any(first.startswith(word) for word in self._words.no)
