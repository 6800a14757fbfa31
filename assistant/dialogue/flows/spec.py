"""The schema of flow files (YAML), validated with pydantic at load: triggers, steps and slot validation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

SlotType = Literal["text", "district", "item", "date", "phone", "address", "url", "choice"]
PII_SLOT_TYPES: frozenset[str] = frozenset({"phone", "address"})
"""Slot types whose values are personal: they go only into a record's restricted fields."""

STEP_KINDS = ("collect", "confirm", "action", "branch", "end")

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ChoiceOption(BaseModel):
    """One answer of a ``choice`` slot; ``aliases`` are other words that pick it."""

    model_config = _FROZEN

    value: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"value": data} if isinstance(data, str) else data


class Validation(BaseModel):
    """How a collected answer is checked and normalised. Options apply to the types named beside them."""

    model_config = _FROZEN

    type: SlotType = "text"
    min_length: int = Field(default=1, ge=1)  # text
    max_length: int = Field(default=500, ge=1)  # text
    options: tuple[ChoiceOption, ...] = ()  # choice: fixed answers (their values are the quick replies)
    options_from: str | None = None  # choice: a slot (set by an action) holding the answers
    min_days_ahead: int = 0  # date: 0 accepts today, 1 starts tomorrow
    max_days_ahead: int = Field(default=365, ge=0)  # date
    scope: str | None = None  # item: the district slot the item is looked up in
    synonyms: tuple[tuple[str, ...], ...] = ()  # item: groups of words naming the same item
    require_catalog: bool = False  # district: only districts the item catalogue knows
    allow_place: bool = False  # address: accept a described place when no address is found

    @model_validator(mode="after")
    def _fits_type(self) -> Validation:
        if self.type == "choice" and bool(self.options) == (self.options_from is not None):
            raise ValueError("a choice needs either options or options_from")
        if self.type != "choice" and (self.options or self.options_from):
            raise ValueError("options and options_from apply to choice only")
        if self.type == "item" and self.scope is None:
            raise ValueError("an item needs scope: the slot holding its district")
        if self.type != "item" and (self.scope or self.synonyms):
            raise ValueError("scope and synonyms apply to item only")
        if self.min_days_ahead > self.max_days_ahead:
            raise ValueError("min_days_ahead is after max_days_ahead")
        if self.min_length > self.max_length:
            raise ValueError("min_length is above max_length")
        return self


class _Step(BaseModel):
    model_config = _FROZEN

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    next: str | None = None


class CollectStep(_Step):
    """Ask for one slot until a valid answer comes (or the attempts run out and a human is offered)."""

    collect: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)  # how the citizen names it ("주소"): corrections and summaries
    aliases: tuple[str, ...] = ()
    prompt: str = Field(min_length=1)
    reprompt: str | None = None
    validation: Validation = Validation()
    optional: bool = False
    max_attempts: int = Field(default=3, ge=1)
    prefill: bool = False  # fill from the text that started the flow when it holds a value
    resets: tuple[str, ...] = ()  # slots to clear when this one changes
    quick_replies: tuple[str, ...] = ()
    pii: bool | None = None  # defaults to the type: phone and address are personal

    @property
    def slot_type(self) -> SlotType:
        return self.validation.type

    @property
    def is_pii(self) -> bool:
        return self.pii if self.pii is not None else self.validation.type in PII_SLOT_TYPES


class ConfirmStep(_Step):
    """Show ``confirm`` (a summary template) and wait for yes or no."""

    confirm: str = Field(min_length=1)
    max_attempts: int = Field(default=3, ge=1)


class ActionStep(_Step):
    """Run a named action; ``result`` maps the action's result keys to slots."""

    action: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    result: dict[str, str] = Field(default_factory=dict)


class Condition(BaseModel):
    """A test on one slot: ``equals`` a value, is ``one_of`` several, or is (not) ``filled``."""

    model_config = _FROZEN

    slot: str
    equals: str | int | bool | None = None
    one_of: tuple[str, ...] = ()
    filled: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.equals is not None, bool(self.one_of), self.filled is not None]
        if sum(tests) != 1:
            raise ValueError("a condition needs exactly one of equals, one_of, filled")
        return self


class BranchCase(BaseModel):
    """Go to ``next`` when ``if`` holds; a case without ``if`` always holds (the default)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    when: Condition | None = Field(default=None, alias="if")
    next: str


class BranchStep(_Step):
    """The first case that holds picks the next step; none holding falls through to the following step."""

    branch: tuple[BranchCase, ...] = Field(min_length=1)


class EndStep(_Step):
    """Finish the flow with a message (a template)."""

    end: str = Field(min_length=1)


def _step_kind(data: Any) -> str | None:
    if isinstance(data, dict):
        return next((kind for kind in STEP_KINDS if kind in data), None)
    return next((kind for kind in STEP_KINDS if hasattr(data, kind)), None)


Step = Annotated[
    Annotated[CollectStep, Tag("collect")]
    | Annotated[ConfirmStep, Tag("confirm")]
    | Annotated[ActionStep, Tag("action")]
    | Annotated[BranchStep, Tag("branch")]
    | Annotated[EndStep, Tag("end")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step needs one of the keys collect, confirm, action, branch, end",
    ),
]


class Triggers(BaseModel):
    """Rule-based starting: a ``phrase`` or every word of a ``keywords`` group in the text (spaces ignored),
    unless an ``exclude`` word is there too (a question about the topic is not a request)."""

    model_config = _FROZEN

    phrases: tuple[str, ...] = ()
    keywords: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[str, ...] = ()


class FlowSpec(BaseModel):
    """One flow file. Step ids default to the slot (collect) or ``<kind>_<n>``; see ``flows/README``."""

    model_config = _FROZEN

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1)
    triggers: Triggers = Triggers()
    start_message: str = ""
    steps: tuple[Step, ...] = Field(min_length=1)

    @field_validator("steps", mode="before")
    @classmethod
    def _default_ids(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        steps: list[Any] = []
        for index, step in enumerate(value, start=1):
            if isinstance(step, dict) and "id" not in step and (kind := _step_kind(step)) is not None:
                default = step["collect"] if kind == "collect" else f"{kind}_{index}"
                steps.append({"id": default, **step})
            else:
                steps.append(step)
        return steps

    @model_validator(mode="after")
    def _consistent(self) -> FlowSpec:
        from assistant.dialogue.flows.spec_checks import check_flow

        check_flow(self)
        return self

    # -- lookups -----------------------------------------------------------------------------------------

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"flow {self.id} has no step {step_id!r}")

    def index_of(self, step_id: str) -> int:
        return next(i for i, step in enumerate(self.steps) if step.id == step_id)

    def following(self, step_id: str) -> str | None:
        """The step after ``step_id``: its ``next``, else the one below it in the file."""
        step = self.step(step_id)
        if step.next is not None:
            return step.next
        index = self.index_of(step_id) + 1
        return self.steps[index].id if index < len(self.steps) else None

    def after(self, step_id: str) -> str:
        """``following``, for a step that must have one (the load checks guarantee it)."""
        following = self.following(step_id)
        if following is None:
            raise RuntimeError(f"flow {self.id}: nothing follows step {step_id}")
        return following

    def collect_step(self, slot: str) -> CollectStep | None:
        return next((s for s in self.steps if isinstance(s, CollectStep) and s.collect == slot), None)

    @property
    def collect_steps(self) -> tuple[CollectStep, ...]:
        return tuple(s for s in self.steps if isinstance(s, CollectStep))

    @property
    def slot_names(self) -> frozenset[str]:
        """Every slot of the flow: collected ones and those actions set."""
        names = {s.collect for s in self.collect_steps}
        for step in self.steps:
            if isinstance(step, ActionStep):
                names.update(step.result.values())
        return frozenset(names)

    @property
    def pii_slots(self) -> frozenset[str]:
        return frozenset(s.collect for s in self.collect_steps if s.is_pii)
