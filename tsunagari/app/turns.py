"""What the chat page draws for one answered turn, computed once per answer (pure, no Streamlit).

Every rerun of the chat page redraws the whole conversation; the HTML of each past answer (body,
source cards, full passages, highlighted terms) is built here once, when the answer arrives, and
kept with the message, so a rerun only sends it again instead of tokenizing and escaping it anew.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tsunagari.answering.citations import page_range
from tsunagari.app import html
from tsunagari.types import Answer

# A streamed extractive answer is shown in at most this many growing steps (each one is a
# websocket message and a redraw in the browser); an LLM stream is redrawn at most this often.
STREAM_STEPS = 3
LIVE_REDRAW_S = 0.15


@dataclass(frozen=True)
class AnswerView:
    """One answer as drawn: the body's HTML, and its source cards with the full passage of each
    in a <details> under it (one HTML element for all the sources: every element is a message
    to the browser on every rerun of the page)."""

    body: str
    sources: str
    count: int


def sources_html(answer: Answer, turn: str, terms: list[str]) -> str:
    """The source cards of an answer, each followed by its full passage (folded)."""
    parts = []
    for cit in answer.citations:
        label = f"[{cit.n}] の全文を見る（本資料 p.{page_range(cit.chunk.pages)}）"
        parts.append(html.source_card_html(cit, terms, turn)
                     + f'<details class="tg-more"><summary>{html.escape(label)}</summary>'
                     + html.chunk_html(cit.chunk, terms) + "</details>")
    return '<div class="tg-sources">' + "".join(parts) + "</div>" if parts else ""


def answer_view(answer: Answer, turn: str,
                tokenize: Callable[[str], list[str]] | None = None) -> AnswerView:
    """The HTML of an answer and its cards (the question's terms highlighted).

    >>> from tsunagari.types import Chunk, Citation
    >>> c = Chunk("c1", "d", "事例集", "庁内の<b>連携会議</b>", (6,), municipality="仙台市")
    >>> a = Answer("連携会議は？", "会議を開いた。[1]", False, (Citation(1, c, "庁内の連携会議", 6, (6,)),), ())
    >>> v = answer_view(a, "t1")
    >>> 'href="#src-t1-1"' in v.body, 'id="src-t1-1"' in v.sources, v.count
    (True, True, 1)
    >>> '<summary>[1] の全文を見る（本資料 p.6）</summary>' in v.sources
    True
    >>> '&lt;b&gt;<mark class="tg-hl">連携会議</mark>&lt;/b&gt;' in v.sources
    True
    """
    numbers = [c.n for c in answer.citations]
    terms = html.query_terms(answer.standalone_question or answer.question, tokenize) \
        if answer.citations else []
    return AnswerView(body=html.answer_html(answer.body, turn, numbers),
                      sources=sources_html(answer, turn, terms), count=len(answer.citations))


def stream_steps(text: str, steps: int = STREAM_STEPS) -> Iterator[str]:
    """Growing prefixes of `text`, cut at sentence ends, at most `steps` of them; the last one is
    the whole text.

    >>> list(stream_steps("一。二。三。四。五。六。", 3))
    ['一。二。', '一。二。三。四。', '一。二。三。四。五。六。']
    >>> list(stream_steps("一文だけ。", 3))
    ['一文だけ。']
    >>> list(stream_steps("", 3))
    ['']
    """
    pieces = list(html.stream_pieces(text)) or [""]
    per = -(-len(pieces) // max(steps, 1))  # ceiling division
    for end in range(per, len(pieces) + per, per):
        yield "".join(pieces[:min(end, len(pieces))])
