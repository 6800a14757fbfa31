"""Turning datasets into suites: which suite runs a dataset of each kind, with which subjects."""

from __future__ import annotations

from typing import assert_never

from assistant.retrieval.ports import SearchMode
from evals.datasets import Dataset
from evals.judge import AnswerJudge
from evals.subjects import Subjects
from evals.suite import Suite
from evals.suites.answers import AbstentionSuite, AnswerSuite
from evals.suites.channel import ChannelSuite
from evals.suites.conversation import DialogueSuite
from evals.suites.retrieval import RetrievalSuite
from evals.suites.safety import SafetySuite
from evals.suites.verifier import VerifierSuite


def build_suite(
    dataset: Dataset,
    subjects: Subjects,
    *,
    name: str | None = None,
    mode: SearchMode | None = None,
    judge: AnswerJudge | None = None,
) -> Suite:
    """The suite for ``dataset``'s kind; ``name`` defaults to the dataset's name."""
    label = name or dataset.name
    match dataset.kind:
        case "retrieval":
            return RetrievalSuite(
                dataset, subjects.retriever, mode=mode, name=label, followups=subjects.followups
            )
        case "safety":
            return SafetySuite(dataset, subjects.safety, subjects.redactor, name=label)
        case "answer":
            return AnswerSuite(dataset, subjects.answerer, name=label, judge=judge)
        case "abstention":
            return AbstentionSuite(dataset, subjects.answerer, name=label)
        case "verifier":
            return VerifierSuite(dataset, subjects.verifier, name=label)
        case "dialogue":
            return DialogueSuite(dataset, subjects.dialogue, name=label)
        case "channel":
            return ChannelSuite(dataset, subjects.encoders, name=label)
        case _:
            assert_never(dataset.kind)
