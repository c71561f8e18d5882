"""The first report's profile, as registered in `tsunagari.chunking.registry`."""

from __future__ import annotations

from tsunagari.chunking.casebook import facts
from tsunagari.chunking.casebook.chunker import chunk_casebook
from tsunagari.chunking.registry import ReportProfile
from tsunagari.types import Document


def matches(doc: Document) -> bool:
    """Text extracted from the casebook PDF with hard-wrapped lines (sidecar `format`)."""
    return doc.format in facts.FORMATS


PROFILE = ReportProfile(
    name="casebook",
    label="事例集（水平的連携 事例集の構成: ポイント①〜⑤・事例・ヒアリング）",
    chunk=chunk_casebook,
    matches=matches,
    priority=100,
    points=facts.POINTS,
    point_marks=facts.POINT_MARKS,
    point_hints=facts.POINT_HINTS,
    point_topics=facts.POINT_TOPICS,
    aliases=facts.ALIASES,
    case_label=facts.CASE_LABEL,
)
