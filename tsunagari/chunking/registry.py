"""Report profiles: how one kind of report is chunked, and the facts about it (its points, the
spellings it uses for a body, its label formats).

Every profile — the first report's casebook as much as one added later — is registered with
`register`; `profile_for(doc)` picks the one named by the report's sidecar (`profile = "…"`), else
the highest-priority profile whose `matches(doc)` holds (the general profile matches every report,
at the lowest priority, so a report never seen before is still chunked).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tsunagari.errors import InputError
from tsunagari.japanese import Splitter
from tsunagari.types import Chunk, Document

Chunker = Callable[[Document, int, Splitter], list[Chunk]]
PointPatterns = tuple[tuple[int, re.Pattern[str]], ...]


def _never(_doc: Document) -> bool:
    return False


@dataclass(frozen=True, eq=False)
class ReportProfile:
    """One kind of report.

    `chunk(doc, size, splitter)` turns a document into chunks; `matches(doc)` says whether the
    profile fits a document whose sidecar names none (highest `priority` first). The facts:
    `points` (number → label) and their `point_marks` (①…), `point_hints` (words of a heading →
    its point, where the report does not state it), `point_topics` (words of a question → a
    point), `aliases` (a spelling of the report → the body's name) and `case_label`, the format
    of a case's label (fields `letter`, `number`, `name`).
    """

    name: str
    label: str  # Japanese, shown by `python -m ingest`
    chunk: Chunker
    matches: Callable[[Document], bool] = _never
    priority: int = 0
    points: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    point_marks: str = ""
    point_hints: PointPatterns = ()
    point_topics: PointPatterns = ()
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    case_label: str = "{name}"

    def infer_point(self, text: str) -> int | None:
        """The point a heading's words tie it to (`point_hints`), None when unclear or when the
        profile declares no points."""
        for point, pattern in self.point_hints:
            if pattern.search(text):
                return point
        return None

    def format_case(self, *, name: str, letter: str = "", number: str = "") -> str:
        """A case's label in this profile's format."""
        return self.case_label.format(name=name, letter=letter, number=number)


_REGISTRY: dict[str, ReportProfile] = {}


def register(profile: ReportProfile, *, replace: bool = False) -> ReportProfile:
    """Add a profile (the built-in ones are registered the same way); a second profile with a
    name already taken is refused unless `replace`."""
    if profile.name in _REGISTRY and not replace:
        raise ValueError(f"report profile {profile.name!r} is already registered")
    _REGISTRY[profile.name] = profile
    return profile


def unregister(name: str) -> None:
    """Remove a profile (for tests that register their own)."""
    _REGISTRY.pop(name, None)


def registered() -> tuple[ReportProfile, ...]:
    """Every registered profile, highest priority first."""
    return tuple(sorted(_REGISTRY.values(), key=lambda p: -p.priority))


def get(name: str) -> ReportProfile:
    """The profile of that name; InputError (Japanese) for a name nobody registered."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = "、".join(p.name for p in registered())
        raise InputError(f"資料の形式（profile = \"{name}\"）が登録されていません。"
                         f"使える形式: {known}") from None


def profile_for(doc: Document) -> ReportProfile:
    """The profile a document is chunked with: the sidecar's, else the best match."""
    if doc.profile:
        return get(doc.profile)
    for profile in registered():
        if profile.matches(doc):
            return profile
    raise InputError(f"{doc.path} に合う資料の形式がありません。")


def profile_with_points() -> ReportProfile | None:
    """The highest-priority profile that declares points (the first report's casebook)."""
    return next((p for p in registered() if p.points), None)


def aliases() -> dict[str, str]:
    """Every registered profile's spellings of body names, merged."""
    out: dict[str, str] = {}
    for p in reversed(registered()):
        out.update(p.aliases)
    return out


def point_topics() -> PointPatterns:
    """Every registered profile's question words that point at one of its points."""
    return tuple(t for p in registered() for t in p.point_topics)
