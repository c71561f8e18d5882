"""The stable JSON contract of an answer (read by the eval runner and other tools)."""

from __future__ import annotations

from typing import Any

from tsunagari.answering.citations import answer_markdown
from tsunagari.types import Answer, Chunk, Hit


def citation_metadata(c: Chunk) -> dict[str, Any]:
    """Where a passage comes from: the fields shared by `citations` and `retrieved`."""
    return {
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "doc_title": c.doc_title,
        "section": c.section,
        "section_title": c.section_title,
        "heading": c.heading,
        "point": c.point,
        "case": c.case,
        "municipality": c.municipality,
        "column": c.column,
        "column_city": c.column_city,
        "page": c.page,
        "pages": list(c.pages),
        "source_report": c.source_report,
        "source_page": c.source_page,
    }


def retrieved_entry(h: Hit) -> dict[str, Any]:
    """One `retrieved` item: rank, fused score, per-retriever ranks, metadata and text."""
    return {"rank": h.rank, "score": round(h.score, 6), "bm25_rank": h.bm25_rank,
            "dense_rank": h.dense_rank, **citation_metadata(h.chunk), "text": h.chunk.text}


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    """Answer → JSON-ready dict (see the README for the field list)."""
    return {
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "answer": answer_markdown(answer),
        "abstained": answer.abstained,
        "mode": answer.mode,
        "notices": list(answer.notices),
        "citations": [
            {"n": cit.n, **citation_metadata(cit.chunk), "page": cit.page, "pages": list(cit.pages),
             "text": cit.text, "passage": cit.chunk.text}
            for cit in answer.citations
        ],
        "retrieved": [retrieved_entry(h) for h in answer.hits],
    }
