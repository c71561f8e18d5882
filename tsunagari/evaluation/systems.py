"""The systems compared side by side in an eval run: tsunagari, bm25, dense and a LangChain-defaults baseline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsunagari.answering.contract import answer_to_dict
from tsunagari.answering.retrieve import Retriever
from tsunagari.chunking.pages import recover
from tsunagari.config import Settings
from tsunagari.evaluation.judge import judge
from tsunagari.generation.chat_models import make_chat_model
from tsunagari.indexing.vectors import chroma_client
from tsunagari.loaders.scan import load_corpus
from tsunagari.service import open_answerer, open_embedder

SYSTEMS = ("tsunagari", "bm25", "dense", "vanilla", "tsunagari-llm")

System = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Runner:
    """Answers eval items with one system; returns the answer JSON of the core contract."""

    name: str
    ask: System


def _pipeline(settings: Settings, mode: str, k: int, choice, answer_mode: str = "extractive"
              ) -> System:

    s = settings.model_copy(update={"retrieval_mode": mode, "answer_mode": answer_mode})
    retriever = Retriever.open(s, choice.embedder)
    answerer = open_answerer(s, retriever, (choice.notice,) if choice.notice else ())

    def ask(item: dict[str, Any]) -> dict[str, Any]:
        return answer_to_dict(answerer.ask(item["question"], item.get("history"), None, k))

    return ask


def _vanilla(settings: Settings, k: int, choice) -> System:
    """What a user gets from LangChain defaults: 1000/200 recursive splits, Chroma top-4."""
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if choice.embedder is None:
        raise RuntimeError("vanilla needs a dense embedder")
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
                                              add_start_index=True)
    texts, metas = [], []
    for doc in load_corpus(Path(settings.corpus_dir)):
        lines, _ = recover(doc.text, doc.first_page)
        page_at_line = {line.lineno: line.page for line in lines}
        line_starts = [0]
        for raw in doc.text.split("\n"):
            line_starts.append(line_starts[-1] + len(raw) + 1)
        for piece in splitter.create_documents([doc.text]):
            start = piece.metadata["start_index"]
            lineno = next(i for i, off in enumerate(line_starts) if off > start)
            page = next((page_at_line[n] for n in range(lineno, lineno + 200)
                         if n in page_at_line), doc.first_page)
            texts.append(piece.page_content)
            metas.append({"doc_id": doc.doc_id, "page": page, "start": start})
    client = chroma_client(settings)
    name = "vanilla_baseline"
    try:
        client.delete_collection(name)
    except Exception:  # noqa: BLE001 - absent collection
        pass
    store = Chroma(collection_name=name, embedding_function=choice.embedder, client=client)
    store.add_texts(texts, metadatas=metas)

    def ask(item: dict[str, Any]) -> dict[str, Any]:
        docs = store.similarity_search(item["question"], k=4)
        retrieved = [
            {"rank": i + 1, "score": 0.0, "chunk_id": f"v{d.metadata['start']}",
             "doc_id": d.metadata["doc_id"], "page": d.metadata["page"],
             "pages": [d.metadata["page"]], "municipality": "", "column": "", "column_city": "",
             "section": "", "heading": "", "text": d.page_content}
            for i, d in enumerate(docs)
        ]
        return {
            "question": item["question"],
            "answer": "\n\n".join(r["text"] for r in retrieved),
            "abstained": False,
            "citations": [dict(r, n=r["rank"]) for r in retrieved],
            "retrieved": retrieved,
        }

    return ask


def build_runners(settings: Settings, names: list[str], k: int) -> list[Runner]:
    """Open each requested system over the index in `settings.data_dir`."""

    choice = open_embedder(settings.model_copy(update={"retrieval_mode": "hybrid"}))
    runners = []
    for name in names:
        if name == "tsunagari":
            runners.append(Runner(name, _pipeline(settings, settings.retrieval_mode, k, choice)))
        elif name == "tsunagari-llm":
            runners.append(Runner(name, _pipeline(settings, settings.retrieval_mode, k, choice,
                                                  answer_mode="llm")))
        elif name in ("bm25", "dense"):
            runners.append(Runner(name, _pipeline(settings, name, k, choice)))
        elif name == "vanilla":
            runners.append(Runner(name, _vanilla(settings, k, choice)))
        else:
            raise ValueError(f"unknown system: {name}")
    return runners


def make_judge(settings: Settings) -> Callable[[dict[str, Any]], dict[str, float]] | None:
    """A judge over the configured LLM, or None when no LLM is configured."""
    if not settings.llm:
        return None

    model = make_chat_model(settings)

    def run(row: dict[str, Any]) -> dict[str, float]:
        return judge(row, row.get("retrieved", [])[: settings.top_k], model,
                     timeout=settings.llm_timeout)

    return run


def timed(ask: System, item: dict[str, Any]) -> dict[str, Any]:
    """Run one item and attach its id and latency."""
    start = time.perf_counter()
    row = ask(item)
    row["latency_ms"] = round((time.perf_counter() - start) * 1000, 2)
    row["id"] = item["id"]
    return row
