"""Small frozen dataclasses passed between pipeline stages: Document → Chunk → Hit → Answer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Document:
    """One report as loaded from the corpus: raw text plus sidecar metadata."""

    doc_id: str
    title: str
    path: str
    text: str
    content_hash: str
    first_page: int = 1
    publisher: str = ""
    survey_period: str = ""
    format: str = "text"
    # For PDFs: the text of each printed page, when the loader knows the pages.
    pages: tuple[str, ...] = ()
    # From the sidecar: the report profile to chunk it with ('' = the best match), a short
    # title, the year, and the labels of the points the report uses (point n = points[n-1]).
    profile: str = ""
    short_title: str = ""
    year: str = ""
    points: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage with the structure it came from."""

    chunk_id: str
    doc_id: str
    doc_title: str
    text: str
    pages: tuple[int, ...]
    # (offset in text, printed page) change points, so a sentence can be paged.
    page_marks: tuple[tuple[int, int], ...] = ()
    chapter: str = ""
    section: str = ""
    section_title: str = ""
    heading: str = ""
    point: int | None = None
    case: str = ""
    municipality: str = ""
    column: str = ""
    column_city: str = ""
    region: str = ""
    city_size: str = ""
    speakers: tuple[str, ...] = ()
    question: str = ""
    source_report: str = ""
    source_page: str = ""
    footnotes: tuple[str, ...] = ()
    kind: str = "body"

    @property
    def page(self) -> int:
        """The first printed page of the chunk."""
        return self.pages[0] if self.pages else 0

    def page_at(self, offset: int) -> int:
        """Printed page of the character at `offset` in `text`."""
        page = self.page
        for start, p in self.page_marks:
            if start <= offset:
                page = p
            else:
                break
        return page

    def index_text(self) -> str:
        """Text given to the retrievers: a context line (who/where) plus the passage."""
        context = " ".join(
            x
            for x in (
                self.municipality,
                self.column,
                self.column_city,
                self.region,
                self.section_title,
                self.question if self.question and self.question not in self.text else "",
            )
            if x
        )
        return f"{context}\n{self.text}" if context else self.text

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pages"] = list(self.pages)
        d["page_marks"] = [list(m) for m in self.page_marks]
        d["speakers"] = list(self.speakers)
        d["footnotes"] = list(self.footnotes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        d = dict(d)
        d["pages"] = tuple(d.get("pages", ()))
        d["page_marks"] = tuple(tuple(m) for m in d.get("page_marks", ()))
        d["speakers"] = tuple(d.get("speakers", ()))
        d["footnotes"] = tuple(d.get("footnotes", ()))
        known = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class Filters:
    """Metadata filters for retrieval; empty fields do not filter."""

    point: int | None = None
    municipality: str = ""
    column: str = ""
    chapter: str = ""
    doc_id: str = ""

    def is_empty(self) -> bool:
        return not (self.point or self.municipality or self.column or self.chapter or self.doc_id)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and per-retriever ranks."""

    chunk: Chunk
    score: float
    rank: int
    bm25_rank: int | None = None
    dense_rank: int | None = None


@dataclass(frozen=True)
class Citation:
    """One `[n]` marker of an answer and the passage it points to."""

    n: int
    chunk: Chunk
    text: str
    page: int
    pages: tuple[int, ...]


@dataclass(frozen=True)
class Answer:
    """The answer to one question: its Markdown body, the citations its `[n]` markers point to,
    and what was retrieved. The 「出典」 list is rendered from `citations` at the edge
    (`tsunagari.answering.citations`), never stored in `body`."""

    question: str
    body: str
    abstained: bool
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    standalone_question: str = ""
    mode: str = "extractive"
    notices: tuple[str, ...] = field(default=())


class Answerer(Protocol):
    """The one interface of an answerer, used by the app, the CLI and the eval runner.

    Implemented by the extractive answerer (offline, the default and every fallback) and the
    generative one (an LLM over the same retrieval). `stream` yields text as it is written,
    if any, and always ends with the final `Answer`.
    """

    def ask(self, question: str, history: Sequence[object] | None = None,
            filters: Filters | None = None, k: int | None = None) -> Answer: ...

    def stream(self, question: str, history: Sequence[object] | None = None,
               filters: Filters | None = None, k: int | None = None) -> Iterator[str | Answer]: ...
