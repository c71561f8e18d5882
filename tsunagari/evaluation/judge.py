"""LLM-as-judge hook for the eval runner: faithfulness and relevancy of one answer, 0–1."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tsunagari.generation.answerer import message_text
from tsunagari.generation.deadline import call_with_deadline
from tsunagari.generation.prompts import neutralize, render_prompt
from tsunagari.generation.verify import strip_sources
from tsunagari.types import Answer, Hit

NAN = math.nan


def parse_score(text: str, key: str) -> float:
    """The 0–1 score `key` from a judge reply (JSON, possibly fenced or with extra text).

    NaN when no score can be read; values are clipped to [0, 1] (a 0–10 or 0–100 scale is
    rescaled).

    >>> parse_score('```json\\n{"faithfulness": 0.75, "reason": "…"}\\n```', "faithfulness")
    0.75
    >>> parse_score('{"relevancy": 8}', "relevancy")
    0.8
    >>> parse_score('採点: "relevancy": 1', "relevancy")
    1.0
    >>> math.isnan(parse_score("わかりません", "relevancy"))
    True
    """
    value: Any = None
    for m in re.finditer(r"\{[^{}]*\}", text, re.DOTALL):
        try:
            data = json.loads(m.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            value = data.get(key, data.get("score"))
            if value is not None:
                break
    if value is None:
        m = re.search(rf'"?{key}"?\s*[:：]\s*([0-9.]+)', text)
        value = m.group(1) if m else None
    try:
        score = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return NAN
    if math.isnan(score) or score < 0:
        return NAN
    if score > 1:
        score = score / 10 if score <= 10 else score / 100
    return min(score, 1.0)


def _texts(answer: Answer | Mapping[str, Any], hits: Sequence[Hit | Mapping[str, Any]]):
    if isinstance(answer, Answer):
        question, text, abstained = answer.question, answer.body, answer.abstained
    else:  # the answer JSON of tsunagari.answering.contract: its text ends with the source list
        question = str(answer.get("question", ""))
        text = strip_sources(str(answer.get("answer", "")))
        abstained = bool(answer.get("abstained"))
    passages = [h.chunk.text if isinstance(h, Hit) else str(h.get("text", "")) for h in hits]
    return question, text, abstained, passages


def judge(answer: Answer | Mapping[str, Any], hits: Sequence[Hit | Mapping[str, Any]],
          chat_model: Any, timeout: float = 120.0) -> dict[str, float]:
    """{"faithfulness", "relevancy"} in [0, 1], judged by `chat_model` with the prompt files.

    `answer` is an Answer or its JSON (`answer_to_dict`), `hits` the passages it was given
    (Hits or the JSON "retrieved" rows). Declined answers are not judged (both NaN), nor is
    a score the judge's reply does not contain (NaN): the runner averages over the rest.
    """
    question, text, abstained, passages = _texts(answer, hits)
    if abstained:
        return {"faithfulness": NAN, "relevancy": NAN}
    from langchain_core.messages import HumanMessage

    context = "\n\n".join(
        f'<passage id="{n}">\n{neutralize(p.strip())}\n</passage>'
        for n, p in enumerate(passages, start=1)
    )
    prompts = {
        "faithfulness": render_prompt("judge_faithfulness", context=context,
                                      answer=neutralize(text)),
        "relevancy": render_prompt("judge_relevancy", question=neutralize(question),
                                   answer=neutralize(text)),
    }
    out: dict[str, float] = {}
    for key, prompt in prompts.items():
        try:
            reply = call_with_deadline(
                lambda prompt=prompt: chat_model.invoke([HumanMessage(content=prompt)]), timeout)
            out[key] = parse_score(message_text(reply), key)
        except Exception:  # noqa: BLE001 - a failed judge call scores NaN, the run goes on
            out[key] = NAN
    return out
