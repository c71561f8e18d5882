"""Generated answers: an LLM writes from the retrieved passages, then every [n] is verified.

The extractive answerer stays the default and the fallback: retrieval, the scope check and
declines are the same; when the LLM fails, times out or cites nothing, the extractive answer
is returned with a Japanese notice.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from tsunagari.answering.extractive import (
    NOT_FOUND,
    ExtractiveAnswerer,
    decline,
    validate_question,
)
from tsunagari.answering.followup import resolve
from tsunagari.answering.scope import ScopeVerdict
from tsunagari.config import Settings
from tsunagari.generation.deadline import call_with_deadline, stream_with_deadline
from tsunagari.generation.prompts import (
    format_context,
    format_history,
    load_prompt,
    neutralize,
    render_prompt,
)
from tsunagari.generation.verify import build_citations, echoes_prompt, verification_notices, verify
from tsunagari.types import Answer, Filters, Hit

log = logging.getLogger(__name__)

FALLBACK_NOTICE = "LLMに接続できなかったため、資料からの引用で回答しています。"
UNVERIFIED_NOTICE = (
    "生成した回答に資料の出典を確認できなかったため、資料からの引用で回答しています。"
)
ECHO_NOTICE = "生成した回答が指示文を繰り返していたため、資料からの引用で回答しています。"


# --------------------------------------------------------------------------- messages


def answer_messages(question: str, hits: Sequence[Hit]) -> list[Any]:
    """System prompt + the user prompt with the delimited, numbered passages."""
    from langchain_core.messages import HumanMessage, SystemMessage

    user = render_prompt("answer_user", context=format_context(hits),
                         question=neutralize(question))
    return [SystemMessage(content=load_prompt("answer_system")), HumanMessage(content=user)]


def condense_messages(question: str, history: Sequence[object]) -> list[Any]:
    from langchain_core.messages import HumanMessage

    return [HumanMessage(content=render_prompt(
        "condense_question", history=format_history(history), question=neutralize(question)))]


def message_text(message: Any) -> str:
    """Plain text of a LangChain message or chunk (content may be a list of blocks)."""
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content
                       if isinstance(b, (str, dict)))
    return str(content or "")


def _clean_condensed(text: str, fallback: str, max_chars: int) -> str:
    """First line of the model's rewrite, without quotes or a label; `fallback` when unusable."""
    line = next((x.strip() for x in text.strip().split("\n") if x.strip()), "")
    line = re.sub(r"^(書き換えた質問|質問|standalone question)\s*[:：]\s*", "", line,
                  flags=re.IGNORECASE)
    line = line.strip("「」『』\"' ")
    if len(line) < 2 or len(line) > max_chars or NOT_FOUND in line:
        return fallback
    return line


# --------------------------------------------------------------------------- answerer


class GenerativeAnswerer:
    """Answers with a LangChain chat model over the same retrieval as the extractive answerer.

    `ask` returns an `Answer` with mode="llm". `stream` yields text deltas as the model writes
    them, then one final `Answer` whose `.body` (verified and marked) replaces the streamed
    text. Any failure gives the extractive answer (mode="extractive") with a notice.
    """

    def __init__(self, answerer: ExtractiveAnswerer, chat_model: Any, settings: Settings,
                 condense: bool = True) -> None:
        self.answerer = answerer
        self.chat_model = chat_model
        self.settings = settings
        self.condense = condense

    def ask(self, question: str, history: Sequence[object] | None = None,
            filters: Filters | None = None, k: int | None = None) -> Answer:
        result: Answer | None = None
        for part in self.stream(question, history, filters, k, _stream=False):
            if isinstance(part, Answer):
                result = part
        assert result is not None
        return result

    def stream(self, question: str, history: Sequence[object] | None = None,
               filters: Filters | None = None, k: int | None = None,
               _stream: bool = True) -> Iterator[str | Answer]:
        """Text deltas, then the final Answer (declines and fallbacks yield only the Answer)."""
        timeout = self.settings.llm_timeout
        q = validate_question(question, self.settings.max_question_chars)
        lookup, backend_error = q, None
        rule = resolve(q, history, self.answerer.known,
                       self.answerer.retriever.catalogue) if history else None
        if self.condense and rule is not None and rule.question != q:
            try:
                lookup = self._condense(q, history)
            except Exception as exc:  # noqa: BLE001 - any backend failure → fallback
                backend_error = exc
            else:
                if rule.entity and rule.entity in lookup:
                    # Keep the conversation's filter for the entity the rewrite names.
                    user = filters or Filters()
                    filters = replace(user,
                                      municipality=user.municipality or rule.filters.municipality,
                                      column=user.column or rule.filters.column)
        base = replace(self.answerer.ask(lookup, history, filters, k), question=q)
        if base.abstained:
            yield replace(base, mode="llm")
            return
        if backend_error is not None:
            yield self._fallback(base, backend_error)
            return
        # A routed answer (every qualifying case, a comparison) gives the model all its cases.
        hits = base.hits[: max(self.settings.top_k, len(base.citations))]
        messages = answer_messages(base.standalone_question or q, hits)
        started = time.perf_counter()
        parts: list[str] = []
        try:
            if _stream:
                for chunk in stream_with_deadline(lambda: self.chat_model.stream(messages),
                                                  timeout):
                    delta = message_text(chunk)
                    if delta:
                        parts.append(delta)
                        yield delta
            else:
                parts.append(message_text(call_with_deadline(
                    lambda: self.chat_model.invoke(messages), timeout)))
        except Exception as exc:  # noqa: BLE001 - any backend failure → fallback
            yield self._fallback(base, exc)
            return
        raw = "".join(parts)
        log.info("LLM answer: %d chars in %.2f s", len(raw), time.perf_counter() - started)
        yield self.finish(base, hits, raw)

    def finish(self, base: Answer, hits: Sequence[Hit], raw: str) -> Answer:
        """Verify the model's text and build the final Answer (or fall back when unusable)."""
        if echoes_prompt(raw, load_prompt("answer_system")):
            log.info("LLM answer repeated the instructions; extractive fallback")
            return replace(base, notices=base.notices + (ECHO_NOTICE,))
        v = verify(raw, [h.chunk.text for h in hits])
        if v.declined:
            return replace(base, body=decline(ScopeVerdict(False), hits), abstained=True,
                           citations=(), mode="llm")
        if not v.text.strip() or v.cited <= 0:
            log.info("LLM answer had no verifiable citation; extractive fallback")
            return replace(base, notices=base.notices + (UNVERIFIED_NOTICE,))
        citations = build_citations(v.used, hits)
        return replace(base, body=v.text, abstained=False, citations=citations, mode="llm",
                       notices=base.notices + verification_notices(v))

    def _condense(self, question: str, history: Sequence[object]) -> str:
        messages = condense_messages(question, history)
        reply = call_with_deadline(lambda: self.chat_model.invoke(messages),
                                   self.settings.llm_timeout)
        return _clean_condensed(message_text(reply), question, self.settings.max_question_chars)

    def _fallback(self, base: Answer, exc: BaseException) -> Answer:
        # Only the type: messages of client errors may echo request details.
        log.info("LLM unavailable (%s); extractive fallback", type(exc).__name__)
        log.debug("LLM error detail: %s", exc)
        return replace(base, mode="extractive", notices=base.notices + (FALLBACK_NOTICE,))
