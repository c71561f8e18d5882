"""Wire settings → embedder → retriever → answerer; the one place the app, CLI and eval open them."""

from __future__ import annotations

from dataclasses import dataclass

from tsunagari.answer import Answerer
from tsunagari.config import Settings
from tsunagari.embed import EmbedderChoice, make_embedder
from tsunagari.index import IngestReport, build_index
from tsunagari.retrieve import Retriever


@dataclass
class Service:
    """Everything needed to answer questions with one settings object."""

    settings: Settings
    choice: EmbedderChoice
    retriever: Retriever
    answerer: Answerer

    @property
    def notices(self) -> tuple[str, ...]:
        return (self.choice.notice,) if self.choice.notice else ()


def open_embedder(settings: Settings) -> EmbedderChoice:
    """The configured embedder, or none (BM25 only) with a notice."""
    if settings.retrieval_mode == "bm25":
        return EmbedderChoice(None, "none")
    return make_embedder(settings.embedder, settings.st_device)


def open_service(settings: Settings, choice: EmbedderChoice | None = None) -> Service:
    """Open the index for answering (raises IndexMissingError when there is none)."""
    choice = choice or open_embedder(settings)
    retriever = Retriever.open(settings, choice.embedder)
    notices = (choice.notice,) if choice.notice else ()
    return Service(settings, choice, retriever, Answerer(retriever, notices=notices))


def ingest(settings: Settings, choice: EmbedderChoice | None = None, progress=None,
           log=None) -> IngestReport:
    """Build or refresh the index with the configured embedder.

    `progress(iterable, total=)` wraps the embedding loop; `log(message)` receives Japanese
    progress lines (one per file). Per-file changes and problems are in the report.
    """
    choice = choice or open_embedder(settings)
    notices = (choice.notice,) if choice.notice else ()
    return build_index(settings, choice.embedder, progress=progress, notices=notices, log=log)
