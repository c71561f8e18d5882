"""What a comparison is about, and the sentences of each compared entity that say most about it.

「豊岡市と潮見原市は、企業や事業者とどう関わっていますか？違いを教えてください。」 is about 企業,
事業者 and 関わる; 違い, 教えて and どう frame the question and would otherwise pick any sentence
that happens to use them. Within one entity's few passages the retrieval rank says little, so the
sentences decide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tsunagari.answering.retrieve import Retriever
from tsunagari.answering.sentences import Quote, score_quotes
from tsunagari.types import Hit

COMPARED_PASSAGES = 5  # passages of each compared entity whose sentences compete for its cell


def focused_quotes(hits: Sequence[Hit], retriever: Retriever, focus: str, n: int
                   ) -> list[Quote]:
    """The `n` sentences of an entity's passages that say most about the focus (the ranking
    within one entity's few passages says little: the sentences decide), in document order."""
    words = [w for w in focus.split() if len(w) > 1]

    def score(q: Quote) -> float:
        # A focus word inside a longer token (事業者 in 事業者向け) counts as well.
        inside = sum(retriever.idf.get(w, 1.0) for w in words if w in q.text)
        return q.score + inside / (1 + 0.35 * (q.hit.rank - 1)) / math.sqrt(
            max(len(q.text), 20) / 20)

    chosen: list[Quote] = []
    for q in sorted(score_quotes(hits, retriever, focus), key=lambda q: -score(q)):
        if len(chosen) >= n:
            break
        if not any(q.hit.chunk.chunk_id == c.hit.chunk.chunk_id
                   and q.offset < c.offset + len(c.text) and c.offset < q.offset + len(q.text)
                   for c in chosen):
            chosen.append(q)
    return sorted(chosen, key=lambda q: (q.hit.rank, q.offset))


# Words that frame a comparison rather than say what is compared.
_FRAME = {"違い", "違う", "比べる", "比較", "差", "共通", "教える", "やり方", "遣り方", "方", "点",
          "特徴", "取り組み", "取組", "事例", "様子", "ところ", "所", "場合", "資料", "報告書"}


def focus_words(topic: str, retriever: Retriever) -> str:
    """What a comparison is about, for scoring quotes: the topic's nouns and verbs without the
    words that frame the comparison (違い, 比べて, やり方…) and without question words (どう),
    which would otherwise pick any sentence that happens to use them.

    >>> from types import SimpleNamespace as NS
    >>> from tsunagari.japanese import default_tokenizer
    >>> focus_words("は、企業や事業者とどう関わっていますか？違いを教えてください。",
    ...             NS(tokenizer=default_tokenizer()))
    '企業 事業者 関わっ'
    """
    tok = retriever.tokenizer
    if tok is None:
        return topic
    words = [surface for surface, pos, norm in tok.morphemes(topic)
             if ((pos[0] == "名詞" and pos[1] in ("普通名詞", "固有名詞"))
                 or (pos[0] == "動詞" and pos[1] == "一般"))
             and surface not in _FRAME and norm not in _FRAME]
    return " ".join(words) or topic
