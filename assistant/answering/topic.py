"""Follow-up or new topic? Whether the previous question's terms belong in a follow-up's search query.

Decision: the knowledge decides, not a word list. The deterministic rewrite (``QueryRewriter.rule``) puts
the previous question's nouns before every follow-up: right for "반납은요?" after "따릉이는 어떻게
빌리나요?", wrong for "여권은 어디서 만들어요?", which the 따릉이 documents then answer. Which words are
an *aspect* of the previous topic (반납, 요금, 신청, 비용 …) and which name a *new* one (여권) cannot be
listed in advance, but the index can tell: when some document is about both the previous topic and the
new question, adding the previous topic's terms brings the query closer to it (its best e5 cosine
rises: "따릉이 반납은요?" matches the 따릉이 return FAQ better than "반납은요?" alone); when no document is
about both, the mixture fits every document worse than the question alone ("따릉이 여권은 …" is further
from the passport FAQ than "여권은 …"). So the inherited query is kept when its best cosine is at least
the standalone question's (plus ``margin``), and the question stands alone otherwise. This costs one
more e5 query embedding and two k=1 dense searches per rule-rewritten follow-up.

Without dense vectors (a lexical-only index) the test is lexical: the question stands alone when it is
confidently answerable on its own (``RetrievalConfidence``) and none of the inherited query's top hits
joins the two topics (holds most of the inherited terms and half of the question's own nouns). A
question without nouns of its own ("얼마예요?", "30일짜리는요?", "어디서 하면 돼요?") cannot name a new
topic: it always inherits.
Measured on ``evals/datasets/retrieval_followups.jsonl``; see ``assistant/answering/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.answering.confidence import RetrievalConfidence
from assistant.answering.ports import ChunkRetriever, DenseCosine
from assistant.answering.rewrite import Rewrite
from assistant.answering.text import KoreanText, Term, TermSet
from assistant.retrieval.ports import SearchMode

TopicReason = Literal["no_own_terms", "dense", "lexical_unanswerable", "lexical_joint", "lexical_new_topic"]
"""Why: the question has no nouns of its own; the dense comparison; (lexical) the question cannot stand
alone; a top hit joins both topics; no hit does."""


@dataclass(frozen=True, slots=True)
class TopicPolicy:
    """``margin``: how much better (in best e5 cosine) the standalone question must fit the knowledge
    than the inherited query to stand alone (0: whichever fits better; ties inherit). Lexical test:
    the inherited query's top ``depth`` hits are searched for one holding ``inherited_share`` of the
    inherited terms (generic ones such as 신고, 확인 alone do not join two topics) and ``own_share``
    of the question's own nouns."""

    margin: float = 0.0
    depth: int = 3
    inherited_share: float = 0.6
    own_share: float = 0.5


@dataclass(frozen=True, slots=True)
class TopicVerdict:
    """``follow_up``: keep the inherited query; the cosines when the dense test decided."""

    follow_up: bool
    reason: TopicReason
    standalone_cosine: float | None = None
    inherited_cosine: float | None = None

    def annotations(self) -> dict[str, object]:
        """For the rewrite span (no text: only the verdict and the scores)."""
        return {
            "topic": "follow_up" if self.follow_up else "new_topic",
            "topic_reason": self.reason,
            "standalone_cosine": _rounded(self.standalone_cosine),
            "inherited_cosine": _rounded(self.inherited_cosine),
        }


class TopicShift:
    """Judges a rule rewrite (see the module docstring) with the pipeline's own retriever, dense probe
    and confidence; ``dense`` None (or an index without vectors) means the lexical test."""

    def __init__(
        self,
        text: KoreanText,
        retriever: ChunkRetriever,
        confidence: RetrievalConfidence,
        dense: DenseCosine | None,
        policy: TopicPolicy | None = None,
    ) -> None:
        self._text = text
        self._retriever = retriever
        self._confidence = confidence
        self._dense = dense
        self._policy = policy or TopicPolicy()

    async def settle(
        self, question: str, rewrite: Rewrite, *, mode: SearchMode | None = None
    ) -> tuple[Rewrite, TopicVerdict | None]:
        """The rewrite to search with: ``rewrite`` itself unless the rule inherited terms that the
        knowledge says do not belong (then the question as asked, ``by="standalone"``)."""
        if not rewrite.inherited:
            return rewrite, None
        verdict = await self.judge(question, rewrite, mode=mode)
        return (rewrite if verdict.follow_up else Rewrite(question, "standalone")), verdict

    async def judge(self, question: str, rewrite: Rewrite, *, mode: SearchMode | None = None) -> TopicVerdict:
        """Follow-up or new topic; ``mode`` is the search mode of the lexical test's searches."""
        own = [t for t in self._text.terms(question) if t.kind != "verb"]
        if not own:
            return TopicVerdict(True, "no_own_terms")
        if self._dense is not None:
            standalone = await self._dense.best_cosine(question)
            inherited = await self._dense.best_cosine(rewrite.query)
            if standalone is not None and inherited is not None:
                follow_up = inherited >= standalone + self._policy.margin
                return TopicVerdict(follow_up, "dense", standalone, inherited)
        return await self._lexical(question, rewrite, own, mode)

    async def _lexical(
        self, question: str, rewrite: Rewrite, own: list[Term], mode: SearchMode | None
    ) -> TopicVerdict:
        policy = self._policy
        hits = await self._retriever.retrieve(question, k=policy.depth, mode=mode)
        if not self._confidence.assess(question, hits, None).sufficient:
            return TopicVerdict(True, "lexical_unanswerable")
        previous = [Term(form, "noun") for form in rewrite.inherited]
        for hit in await self._retriever.retrieve(rewrite.query, k=policy.depth, mode=mode):
            found = self._text.term_set(hit.chunk.indexed_text)
            if _share(found, own) >= policy.own_share and _share(found, previous) >= policy.inherited_share:
                return TopicVerdict(True, "lexical_joint")
        return TopicVerdict(False, "lexical_new_topic")


def _share(found: TermSet, terms: list[Term]) -> float:
    return sum(1 for t in terms if found.contains(t)) / len(terms)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
