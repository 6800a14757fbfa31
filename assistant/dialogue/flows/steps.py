"""Small pure rules of the walk: which way a branch goes, and filling a slot with its resets."""

from __future__ import annotations

from collections.abc import Mapping

from assistant.dialogue.flows.spec import BranchStep, CollectStep, Condition
from assistant.dialogue.flows.state import SlotValue


def holds(condition: Condition, slots: Mapping[str, SlotValue]) -> bool:
    value = slots.get(condition.slot)
    if condition.filled is not None:
        return (value is not None) == condition.filled
    if condition.one_of:
        return value in condition.one_of
    return value == condition.equals


def branch_target(step: BranchStep, slots: Mapping[str, SlotValue]) -> str | None:
    """The ``next`` of the first case that holds, or ``None`` (fall through)."""
    for case in step.branch:
        if case.when is None or holds(case.when, slots):
            return case.next
    return None


def filled_with_reset(
    slots: Mapping[str, SlotValue], step: CollectStep, value: SlotValue, *, remove: bool = False
) -> dict[str, SlotValue]:
    """``slots`` with ``step``'s slot set to ``value`` (or removed); when that changes it, the slots the
    step ``resets`` (answers that depended on it, such as the item of a district) are removed too."""
    updated = dict(slots)
    changed = remove or step.collect not in slots or slots[step.collect] != value
    if remove:
        updated.pop(step.collect, None)
    else:
        updated[step.collect] = value
    if changed:
        for name in step.resets:
            updated.pop(name, None)
    return updated
