"""Wire settings → embedder → retriever → answerer; the one place the app, CLI and eval open them."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from tsunagari.answering.extractive import ExtractiveAnswerer
from tsunagari.answering.retrieve import Retriever
from tsunagari.config import Settings
from tsunagari.errors import (
    ConfigError,
    IndexDamagedError,
    IndexMissingError,
    TsunagariError,
    UntrustedStoreError,
)
from tsunagari.generation.answerer import GenerativeAnswerer
from tsunagari.generation.chat_models import describe, make_chat_model
from tsunagari.indexing import shared
from tsunagari.indexing.embedders import EmbedderChoice, make_embedder
from tsunagari.indexing.refresh import IngestReport, build_index
from tsunagari.indexing.store import data_paths, manifest_stamp, read_manifest
from tsunagari.indexing.vectors import down_notice
from tsunagari.types import Answer, Answerer

log = logging.getLogger(__name__)

NO_LLM_NOTICE = "LLMが設定されていないため（TSUNAGARI_LLM）、資料からの引用で回答しています。"


@dataclass
class Service:
    """Everything needed to answer questions with one settings object."""

    settings: Settings
    choice: EmbedderChoice
    retriever: Retriever
    answerer: Answerer  # extractive, or generative in LLM mode

    @property
    def notices(self) -> tuple[str, ...]:
        static = (self.choice.notice,) if self.choice.notice else ()
        return static + live_notices(self.settings)


def live_notices(settings: Settings) -> tuple[str, ...]:
    """Notices that come and go while a service is open: the vector store cannot be read (the
    Chroma server is unreachable, or a full disk) so keyword search answers, or the server's
    store was refused (signature)."""
    # One notice for an unreachable server: keyword search only, or (BM25 setups) the copy.
    down = down_notice(settings) or shared.unreachable_notice(settings)
    return tuple(n for n in (down, shared.refused_notice(settings)) if n)


class FailSoftAnswerer:
    """Adds the live notices to every answer (the inner answerer's notices are fixed when it
    is opened, while the server may stop or come back at any time)."""

    def __init__(self, inner: Answerer, settings: Settings) -> None:
        self.inner = inner
        self.settings = settings

    def __getattr__(self, name: str):  # retriever, settings, ... of the inner answerer
        return getattr(self.inner, name)

    def _with_notices(self, answer: Answer) -> Answer:
        extra = tuple(n for n in live_notices(self.settings) if n not in answer.notices)
        return replace(answer, notices=answer.notices + extra) if extra else answer

    def ask(self, question: str, history: Sequence[object] | None = None,
            filters=None, k: int | None = None) -> Answer:
        return self._with_notices(self.inner.ask(question, history=history, filters=filters,
                                                 k=k))

    def stream(self, question: str, history: Sequence[object] | None = None,
               filters=None, k: int | None = None) -> Iterator[str | Answer]:
        for item in self.inner.stream(question, history=history, filters=filters, k=k):
            yield self._with_notices(item) if isinstance(item, Answer) else item


def open_embedder(settings: Settings) -> EmbedderChoice:
    """The configured embedder, or none (BM25 only) with a notice."""
    if settings.retrieval_mode == "bm25":
        return EmbedderChoice(None, "none")
    return make_embedder(settings.embedder, settings.st_device)


def sync_from_server(settings: Settings) -> shared.SyncResult:
    """Server mode: make the data dir hold the index published in Chroma (a no-op in embedded
    mode and where ingest runs). Raises IndexMissingError when neither has an index."""
    try:
        result = shared.sync(settings)
    except (ConfigError, UntrustedStoreError, IndexDamagedError, OSError) as exc:
        # Fail soft: a replica holding a whole local copy answers from it (keyword search
        # while the server is unreachable; see `live_notices`) and tries the server again.
        if not settings.chroma_host or read_manifest(settings) is None:
            raise
        log.warning("using the local copy of the index: %s", exc)
        return shared.SyncResult("current")
    if result.state == "none" and settings.chroma_host and \
            not data_paths(settings)["chunks"].exists():
        raise IndexMissingError(
            f"Chroma サーバー（{shared.server_label(settings)}）にまだ索引がありません。"
            "索引を作るマシンで `python -m ingest` を実行してください。")
    return result


def open_service(settings: Settings, choice: EmbedderChoice | None = None) -> Service:
    """Open the index for answering (raises IndexMissingError when there is none).

    In server mode the data dir is first synced from Chroma (see `indexing/shared.py`).
    """
    sync_from_server(settings)
    choice = choice or open_embedder(settings)
    retriever = Retriever.open(settings, choice.embedder)
    notices = (choice.notice,) if choice.notice else ()
    answerer = FailSoftAnswerer(open_answerer(settings, retriever, notices), settings)
    service = Service(settings, choice, retriever, answerer)
    warm_up(retriever)
    return service


def warm_up(retriever: Retriever) -> None:
    """One throw-away search, so the first user question does not pay for lazy start-up
    (the Chroma client and collection, the engine's first call): measured 1.5 s → 0.05 s."""
    if retriever.chunks:
        retriever.search("孤独・孤立対策", k=1)


class ServiceHolder:
    """An opened Service that follows index refreshes, for long-running processes outside
    Streamlit (the app keys its cache the same way: `app/state.py`).

    `get()` checks (at most every `replica_check_seconds`, one small request) whether a refresh
    was published to the Chroma server and syncs it; a changed manifest (a refresh there or by
    a local ingest) reopens the service. The embedder is loaded once and reused.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._service: Service | None = None
        self._stamp = ""

    def get(self) -> Service:
        with self._lock:
            shared.refresh_if_changed(self.settings)
            stamp = manifest_stamp(self.settings)
            if self._service is None or stamp != self._stamp:
                choice = self._service.choice if self._service is not None else None
                self._service = open_service(self.settings, choice)
                self._stamp = manifest_stamp(self.settings)
            return self._service


def open_answerer(settings: Settings, retriever: Retriever,
                  notices: tuple[str, ...] = ()) -> Answerer:
    """The extractive Answerer, or a GenerativeAnswerer over it when answer_mode is "llm".

    A missing or unusable `llm` setting keeps extractive answers, with a notice; nothing is
    contacted here (the first question does that, and falls back when the server is down).
    """
    def extractive(*more: str) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(retriever, settings, notices=notices + more)

    if settings.answer_mode != "llm":
        return extractive()
    if not settings.llm:
        return extractive(NO_LLM_NOTICE)

    try:
        model = make_chat_model(settings)
    except TsunagariError as exc:
        return extractive(f"{exc}（資料からの引用で回答しています）")
    except ImportError as exc:  # langchain-openai / langchain-ollama not installed
        log.warning("LLM client unavailable: %s", exc)
        return extractive("LLMのクライアントが入っていないため、資料からの引用で回答しています。")
    log.info("answers generated by %s", describe(settings))
    return GenerativeAnswerer(extractive(), model, settings)


def ingest(settings: Settings, choice: EmbedderChoice | None = None, progress=None,
           log=None) -> IngestReport:
    """Build or refresh the index with the configured embedder.

    `progress(iterable, total=)` wraps the embedding loop; `log(message)` receives Japanese
    progress lines (one per file). Per-file changes and problems are in the report.
    """
    choice = choice or open_embedder(settings)
    notices = (choice.notice,) if choice.notice else ()
    try:
        return build_index(settings, choice.embedder, progress=progress, notices=notices,
                           log=log)
    except OSError as exc:  # the data dir cannot be written: Japanese, details in the log
        if _about_data_dir(settings, exc) or not data_dir_writable(settings):
            raise write_error(settings, exc) from exc
        raise
    except TsunagariError:
        raise
    except Exception as exc:  # e.g. Chroma's "database or disk is full", a failed compaction
        if "disk is full" in str(exc) or "readonly database" in str(exc) or \
                not data_dir_writable(settings):
            raise write_error(settings, exc) from exc
        raise


def _about_data_dir(settings: Settings, exc: OSError) -> bool:
    """Whether an OSError is the data dir refusing a write (not, say, an unreadable report)."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return True
    try:
        return exc.filename is not None and \
            Path(exc.filename).resolve().is_relative_to(Path(settings.data_dir).resolve())
    except (OSError, ValueError, TypeError):
        return False


def data_dir_writable(settings: Settings, size: int = 256 * 1024) -> bool:
    """Whether `size` bytes can be written in the data dir now (a probe file, removed)."""
    import os
    import tempfile

    try:
        fd, name = tempfile.mkstemp(dir=data_paths(settings)["dir"], prefix=".probe-")
    except OSError:
        return False
    try:
        written = os.write(fd, b"\1" * size)  # a short write means the disk is full
        os.fsync(fd)
        return written == size
    except OSError:
        return False
    finally:
        os.close(fd)
        os.unlink(name)


def write_error(settings: Settings, exc: BaseException) -> TsunagariError:
    """The Japanese error for a data dir that cannot be written during ingest. The refresh is
    crash-safe (see indexing/refresh.py), so the previous index still answers."""
    import errno

    logging.getLogger(__name__).warning("ingest could not write %s: %s: %s",
                                        settings.data_dir, type(exc).__name__, exc)
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "disk is full" in str(exc) or \
            (code is None and not data_dir_writable(settings)):
        why = "空き容量がありません"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS) or "readonly" in str(exc):
        why = "書き込みが許可されていません（読み取り専用か、権限がありません）"
    else:
        why = f"書き込みに失敗しました（{type(exc).__name__}）"
    return TsunagariError(
        f"データフォルダ（TSUNAGARI_DATA_DIR）に{why}。索引は更新していません。前の索引のまま"
        "答え続けます。空きを作るか権限を確かめてから、もう一度 `python -m ingest` を実行して"
        "ください。")
