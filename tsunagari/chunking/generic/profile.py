"""The general profile: every report no other profile claims, as registered in
`tsunagari.chunking.registry` (lowest priority; its facts come from the report itself)."""

from __future__ import annotations

from tsunagari.chunking.generic.chunker import chunk_generic
from tsunagari.chunking.generic.structure import CASE_LABEL
from tsunagari.chunking.registry import ReportProfile
from tsunagari.types import Document


def matches(_doc: Document) -> bool:
    """Every report."""
    return True


PROFILE = ReportProfile(
    name="general",
    label="汎用（見出し・自治体名から構成を読み取り）",
    chunk=chunk_generic,
    matches=matches,
    priority=0,
    case_label=CASE_LABEL,
)
