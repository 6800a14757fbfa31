"""What flows say: the fixed Korean messages, and templates and questions rendered from a flow's slots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from assistant.dialogue.flows.spec import CollectStep, FlowSpec
from assistant.dialogue.flows.state import SlotValue
from assistant.dialogue.flows.templates import render
from assistant.dialogue.flows.validators import SlotValidators
from assistant.dialogue.pii import placeholder


@dataclass(frozen=True, slots=True)
class FlowMessages:
    """The messages every flow shares. ``{description}`` is the flow's description and ``{label}`` a slot's,
    each followed by its object particle (을/를)."""

    yes: str = "네"
    no: str = "아니요"
    cancel: str = "취소"
    cancelled: str = "{description} 취소했어요. 더 궁금한 점이 있으면 말씀해 주세요."
    handoff: str = "상담원에게 연결해 드릴게요. 잠시만 기다려 주세요."
    handoff_offer: str = "여러 번 확인하지 못했어요. 상담원을 연결해 드릴까요?"
    action_failed: str = "지금은 접수를 마치지 못했어요. 상담원을 연결해 드릴까요?"
    action_given_up: str = "접수를 마치지 못했어요. 잠시 후 다시 시도하시거나 120으로 전화해 주세요."
    ask_again: str = "알겠어요. 다시 여쭤볼게요."
    yes_or_no: str = "'네' 또는 '아니요'로 답해 주세요."
    which_to_fix: str = "어느 항목을 고칠까요? 예: '주소는 ○○로 바꿔줘'"
    corrected: str = "{label} 바꿨어요."
    resumed: str = "이어서 진행할게요."


@dataclass(frozen=True, slots=True)
class Question:
    """A question for the citizen and the answers to offer as quick replies."""

    text: str
    quick_replies: tuple[str, ...] = ()


class FlowRenderer:
    """Renders templates, questions and summaries of one flow from its slots."""

    def __init__(self, validators: SlotValidators) -> None:
        self._validators = validators

    def template(self, flow: FlowSpec, template: str, slots: Mapping[str, SlotValue]) -> str:
        def display(name: str) -> str:
            if name not in slots:
                return ""
            return self._validators.display(flow.collect_step(name), slots[name])

        def amount(name: str) -> int | None:
            value = slots.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        return render(template, display, amount)

    def ask(
        self,
        flow: FlowSpec,
        step: CollectStep,
        slots: Mapping[str, SlotValue],
        *,
        lead: str | None = None,
        suggestions: tuple[str, ...] = (),
    ) -> Question:
        """The step's question (after ``lead``, a reason to ask again); choices are listed by number."""
        text = self.template(
            flow, step.reprompt if lead is not None and step.reprompt else step.prompt, slots
        )
        options = (
            tuple(o.value for o in self._validators.options(step, slots))
            if step.slot_type == "choice"
            else ()
        )
        offered = suggestions or options
        if options:
            text += "\n" + "\n".join(f"{n}. {value}" for n, value in enumerate(options, start=1))
        if lead:
            text = f"{lead} {text}"
        return Question(text, offered or step.quick_replies)

    def correction_choices(
        self, flow: FlowSpec, slots: Mapping[str, SlotValue], cancel: str
    ) -> tuple[str, ...]:
        return (*(s.label for s in flow.collect_steps if s.collect in slots), cancel)


def scrub_personal(flow: FlowSpec, slots: Mapping[str, SlotValue]) -> dict[str, SlotValue]:
    """``slots`` with personal values replaced by placeholders (``[전화번호]``, ``[주소]``), for a flow that
    ended: the record holds them now, the stored state no longer needs to."""
    scrubbed = dict(slots)
    for step in flow.collect_steps:
        if step.is_pii and scrubbed.get(step.collect) is not None:
            match step.slot_type:
                case "phone":
                    scrubbed[step.collect] = placeholder("phone")
                case "address":
                    scrubbed[step.collect] = placeholder("address")
                case _:
                    scrubbed[step.collect] = "[개인정보]"
    return scrubbed
