"""AnswerPipeline: rewrite → retrieve → abstain? → pack → generate with citations → verify → answer.

Decision (what is shown): every sentence of an answer is either generated *and verified* against the
source it cites, or copied verbatim from a source (extractive). Sentences of a generation are verified
in order; the first one that fails ends the generation. What was verified before it is kept, and the
answer is completed with extractive sentences from the top sources (those not repeating what is
already said), so ``answer`` and ``stream`` return the same text for the same model output and a stream
never has to take back a sentence it showed. No sentence verified → a fully extractive answer. The
model's fixed no-answer sentence as its first sentence → abstain (or, for a model whose refusals are not
trusted, extractive).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from assistant.answering.abstention import AbstentionMessages, says_no_answer
from assistant.answering.answer import Answer, AnswerDelta, HistoryTurn
from assistant.answering.confidence import RetrievalConfidence
from assistant.answering.context import ContextPacker
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.generation import GenerationFailed, GroundedGenerator
from assistant.answering.ports import ChunkRetriever, DenseCosine
from assistant.answering.rewrite import QueryRewriter, Rewrite
from assistant.answering.sentences import SentenceAssembler
from assistant.answering.step_spans import VerificationSpan, reason_kind, step_span
from assistant.answering.text import KoreanText
from assistant.answering.topic import TopicPolicy, TopicShift
from assistant.answering.turn import Timer, Turn
from assistant.answering.verify import SentenceVerifier
from assistant.core.knowledge import ScoredChunk
from assistant.retrieval.ports import SearchMode
from assistant.tracing.ports import Tracer

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnswerPolicy:
    """``top_k`` chunks are retrieved; ``verify_reserve`` of the deadline is kept for verification and
    the extractive fallback; ``rewrite_share`` of it at most goes to rewriting a follow-up. With
    ``trust_no_answer`` off, the model's no-answer sentence leads to an extractive answer rather than an
    abstention (for weak models that refuse answerable questions; retrieval confidence already passed)."""

    top_k: int = 6
    verify_reserve: timedelta = timedelta(milliseconds=500)
    rewrite_share: float = 0.25
    extractive_sentences: int = 3
    spoken_extractive_sentences: int = 2
    duplicate_overlap: float = 0.6
    trust_no_answer: bool = True


@dataclass(frozen=True, slots=True)
class Search:
    """What ``AnswerPipeline.search`` found: the query, its hits, and the rewrite that wrote the query
    (None without history)."""

    query: str
    hits: tuple[ScoredChunk, ...]
    rewrite: Rewrite | None = None


class AnswerPipeline:
    """Grounded answers for one knowledge collection. ``generator`` None means extractive only.
    ``tracer`` (optional) records the ``rewrite`` and ``verification`` steps into the current turn.
    ``topics`` tunes how a rule-rewritten follow-up is told from a new topic (``TopicShift``)."""

    def __init__(
        self,
        *,
        retriever: ChunkRetriever,
        text: KoreanText,
        confidence: RetrievalConfidence,
        packer: ContextPacker,
        verifier: SentenceVerifier,
        extractive: ExtractiveAnswerer,
        rewriter: QueryRewriter,
        generator: GroundedGenerator | None,
        policy: AnswerPolicy,
        dense: DenseCosine | None = None,
        abstention: AbstentionMessages | None = None,
        timer: Timer = time.perf_counter,
        tracer: Tracer | None = None,
        topics: TopicPolicy | None = None,
    ) -> None:
        self._retriever = retriever
        self._text = text
        self._confidence = confidence
        self._packer = packer
        self._verifier = verifier
        self._extractive = extractive
        self._rewriter = rewriter
        self._generator = generator
        self._policy = policy
        self._dense = dense
        self._abstention = abstention or AbstentionMessages()
        self._timer = timer
        self._tracer = tracer
        self._topics = TopicShift(text, retriever, confidence, dense, topics)

    async def answer(
        self,
        question: str,
        *,
        history: Sequence[HistoryTurn] = (),
        spoken: bool = False,
        deadline: timedelta,
    ) -> Answer:
        turn = await self._prepare(question, history, spoken, deadline)
        if isinstance(turn, Answer):
            return self._logged(turn)
        budget = turn.remaining() - self._policy.verify_reserve
        if self._generator is None or budget <= timedelta(0):
            reason = "no_llm" if self._generator is None else "deadline"
            return self._logged(self._complete(turn, [], reason)[0])
        started = self._timer()
        try:
            generated = await self._generator.complete(turn, history, budget)
        except GenerationFailed as exc:
            turn.generate_ms = turn.since(started)
            return self._logged(self._complete(turn, [], exc.reason)[0])
        turn.generate_ms = turn.since(started)
        sentences = self._text.sentences(generated)
        verified: list[str] = []
        failure: str | None = None if sentences else "empty generation"
        verification = VerificationSpan(self._tracer)
        appended: list[str] = []
        try:
            for sentence in sentences:
                failure = await self._accept(turn, sentence, verification)
                if failure is not None:
                    break
                verified.append(sentence)
            if failure == "no_answer" and not verified and self._policy.trust_no_answer:
                final = self._abstain(turn, "no_answer")
            else:
                final, appended = self._complete(turn, verified, failure)
            verification.finish(final, extractive=len(appended), verify_ms=turn.verify_ms)
        finally:
            verification.close()
        return self._logged(final)

    async def stream(
        self,
        question: str,
        *,
        history: Sequence[HistoryTurn] = (),
        spoken: bool = False,
        deadline: timedelta,
    ) -> AsyncIterator[AnswerDelta | Answer]:
        """Yields verified text as it is produced, then exactly one ``Answer`` whose text is the
        concatenation of the deltas."""
        turn = await self._prepare(question, history, spoken, deadline)
        if isinstance(turn, Answer):
            yield AnswerDelta(turn.text)
            yield self._logged(turn)
            return
        budget = turn.remaining() - self._policy.verify_reserve
        verified: list[str] = []
        failure: str | None = None
        verification = VerificationSpan(self._tracer)
        appended: list[str] = []
        try:
            if self._generator is None or budget <= timedelta(0):
                failure = "no_llm" if self._generator is None else "deadline"
            else:
                started, verifying = self._timer(), turn.verify_ms
                pieces = self._generator.stream(turn, history, budget)
                sentences = _finished_sentences(pieces, SentenceAssembler(self._text))
                try:
                    async for sentence in sentences:
                        failure = await self._accept(turn, sentence, verification)
                        if failure is not None:
                            break
                        yield AnswerDelta((" " if verified else "") + sentence)
                        verified.append(sentence)
                except GenerationFailed as exc:
                    failure = exc.reason
                finally:
                    await sentences.aclose()
                    await pieces.aclose()
                    turn.generate_ms = turn.since(started) - (turn.verify_ms - verifying)
                if failure is None and not verified:
                    failure = "empty generation"
            if failure == "no_answer" and not verified and self._policy.trust_no_answer:
                final = self._abstain(turn, "no_answer")
            else:
                final, appended = self._complete(turn, verified, failure)
            verification.finish(final, extractive=len(appended), verify_ms=turn.verify_ms)
        finally:
            verification.close()
        if final.mode == "abstain":
            yield AnswerDelta(final.text)
        for sentence in appended:
            yield AnswerDelta((" " if verified else "") + sentence)
            verified.append(sentence)
        yield self._logged(final)

    async def search(
        self,
        question: str,
        *,
        history: Sequence[HistoryTurn] = (),
        k: int | None = None,
        mode: SearchMode | None = None,
        deadline: timedelta = timedelta(seconds=10),
    ) -> Search:
        """The retrieval half of ``answer``: the query ``question`` is searched with after ``history``
        and the ``k`` chunks (default ``top_k``) it retrieves in ``mode`` (default: the retriever's).
        For evals of follow-up questions; ``answer`` and ``stream`` do the same before they answer."""
        budget = deadline * self._policy.rewrite_share
        rewrite = await self._rewrite(question, history, budget, mode) if history else None
        query = rewrite.query if rewrite is not None else question
        hits = await self._retriever.retrieve(query, k=k or self._policy.top_k, mode=mode)
        return Search(query, tuple(hits), rewrite)

    async def _rewrite(
        self, question: str, history: Sequence[HistoryTurn], budget: timedelta, mode: SearchMode | None = None
    ) -> Rewrite:
        """The model's or the rule's query; the rule's inherited terms only when ``TopicShift`` finds the
        question a follow-up of the previous one (its traced searches nest inside the ``rewrite`` span)."""
        with step_span(self._tracer, "rewrite", input=question) as span:
            written = await self._rewriter.rewrite(question, history, budget=budget)
            rewrite, verdict = await self._topics.settle(question, written, mode=mode)
            span.set_output(rewrite.query)
            span.annotate({"by": rewrite.by, "prompt_version": rewrite.prompt_version})
            if verdict is not None:
                span.annotate(verdict.annotations())
        return rewrite

    async def _prepare(
        self, question: str, history: Sequence[HistoryTurn], spoken: bool, deadline: timedelta
    ) -> Turn | Answer:
        now = self._timer()
        turn = Turn(
            question=question,
            spoken=spoken,
            timer=self._timer,
            started=now,
            deadline=now + deadline.total_seconds(),
            query=question,
        )
        if history:
            rewrite = await self._rewrite(question, history, turn.remaining() * self._policy.rewrite_share)
            turn.query = turn.rewritten_query = rewrite.query
        turn.hits = await self._retriever.retrieve(turn.query, k=self._policy.top_k)
        cosine = await self._dense.best_cosine(turn.query) if self._dense is not None and turn.hits else None
        turn.confidence = self._confidence.assess(turn.query, turn.hits, cosine)
        turn.retrieve_ms = turn.since(now)
        if not turn.confidence.sufficient:
            return self._abstain(turn, "low_confidence")
        turn.packed = self._packer.pack(turn.hits)
        return turn

    async def _accept(self, turn: Turn, sentence: str, verification: VerificationSpan) -> str | None:
        """None when the sentence may be shown, else why not (``no_answer`` for the model's refusal)."""
        verification.checking()
        if self._generator is not None and says_no_answer(sentence, self._generator.no_answer(turn.spoken)):
            return "no_answer"
        started = self._timer()
        check = await self._verifier.check(sentence, turn.sources)
        turn.verify_ms += turn.since(started)
        if not check.supported:
            return f"unsupported: {check.reason}"
        verification.check_passed()
        return None

    def _complete(self, turn: Turn, verified: list[str], failure: str | None) -> tuple[Answer, list[str]]:
        """The final answer, and the extractive sentences appended after the verified ones."""
        if failure is None:
            return turn.finish(" ".join(verified), "llm"), []
        limit = max(0, self._sentence_limit(turn) - len(verified))
        picked = self._extractive.answer(turn.query, turn.packed, max_sentences=self._sentence_limit(turn))
        extra = [s.text for s in picked if not self._repeats(s.text, verified)][:limit]
        if verified and not extra:
            return turn.finish(" ".join(verified), "llm", reason=f"truncated: {failure}"), []
        if not verified and not extra:
            return self._abstain(turn, f"nothing to extract after: {failure}"), []
        return turn.finish(" ".join([*verified, *extra]), "extractive", reason=failure), extra

    def _sentence_limit(self, turn: Turn) -> int:
        policy = self._policy
        return policy.spoken_extractive_sentences if turn.spoken else policy.extractive_sentences

    def _repeats(self, candidate: str, shown: list[str]) -> bool:
        mine = {t.form for t in self._text.terms(candidate)}
        for sentence in shown:
            theirs = {t.form for t in self._text.terms(sentence)}
            if mine and len(mine & theirs) / len(mine) >= self._policy.duplicate_overlap:
                return True
        return False

    def _abstain(self, turn: Turn, reason: str) -> Answer:
        return turn.finish(self._abstention.for_channel(spoken=turn.spoken), "abstain", reason=reason)

    def _logged(self, answer: Answer) -> Answer:
        # Only the reason's kind: its details can quote generated text, and with it a citizen's number.
        _log.info(
            "answer mode=%s reason=%s citations=%d total_ms=%.0f",
            answer.mode,
            reason_kind(answer.fallback_reason),
            len(answer.citations),
            answer.latency_ms.total,
        )
        return answer


async def _finished_sentences(
    pieces: AsyncGenerator[str, None], assembler: SentenceAssembler
) -> AsyncGenerator[str, None]:
    async for piece in pieces:
        for sentence in assembler.feed(piece):
            yield sentence
    for sentence in assembler.flush():
        yield sentence
