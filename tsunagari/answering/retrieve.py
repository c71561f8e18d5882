"""Hybrid retrieval: BM25 over Sudachi tokens and dense vectors, fused by weighted reciprocal rank."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tsunagari.answering import hubs
from tsunagari.answering.followup import find_entities
from tsunagari.config import Settings
from tsunagari.domain import canonical_municipality, expand, mentioned_points, topic_points
from tsunagari.indexing import bm25index
from tsunagari.indexing.catalogue import Entity, build_catalogue, entity_key, section_key
from tsunagari.indexing.termindex import derived_dir
from tsunagari.indexing.vectors import search_vectors, vectors_down
from tsunagari.japanese import Tokenizer, default_tokenizer
from tsunagari.types import Chunk, Filters, Hit


def rrf(rankings: list[tuple[list[str], float]], k: int = 60) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion of ranked id lists.

    >>> rrf([(["a", "b"], 2.0), (["b", "c"], 1.0)], k=1)[0]
    ('b', 1.1666666666666665)
    """
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda x: -x[1])


def matches(chunk: Chunk, filters: Filters) -> bool:
    """Whether a chunk passes the metadata filters."""
    if filters.point and chunk.point != filters.point:
        return False
    if filters.municipality and chunk.municipality != canonical_municipality(filters.municipality):
        return False
    if filters.column and filters.column not in (chunk.column, chunk.column_city) and not (
        chunk.column_city.startswith(filters.column)
    ):
        return False
    if filters.chapter and chunk.chapter != filters.chapter:
        return False
    return not (filters.doc_id and chunk.doc_id != filters.doc_id)


@dataclass
class Retriever:
    """Holds the chunk store, a BM25 index and (optionally) the dense vector store."""

    settings: Settings
    chunks: list[Chunk]
    bm25: object
    embedder: object | None = None
    tokenizer: Tokenizer | None = None
    idf: dict[str, float] = field(default_factory=dict)
    _store: object | None = None
    _vectors: dict[str, list[float]] = field(default_factory=dict)
    store_sha256: str = ""  # SHA-256 of the chunk store `chunks` came from ("": not from one)
    _hub: dict[str, float] | None = None  # score factors of hub passages (see hubs.py)

    def __post_init__(self) -> None:
        # Derived once per index, not per question.
        self.by_id = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        self.known_entities = sorted({c.municipality for c in self.chunks if c.municipality})
        self.catalogue = build_catalogue(self.chunks)
        # The indexed reports (doc_id → title), in corpus order.
        self.reports = dict.fromkeys(c.doc_id for c in self.chunks)
        self.reports.update({c.doc_id: c.doc_title for c in self.chunks})
        self._titles = _section_titles(self.chunks)
        # What `focus` and the filters look up, so a question costs no pass over all chunks.
        # Sections are keyed by their report: two reports' "2-1" are two sections.
        self._by_name: dict[str, list[int]] = {}
        self._cases_by_point: dict[int | None, list[int]] = {}
        self._by_section: dict[tuple[str, str], list[int]] = {}
        for i, c in enumerate(self.chunks):
            self._by_name.setdefault(c.municipality, []).append(i)
            if (key := entity_key(c)) != c.municipality:  # a column's city (C市① → C市)
                self._by_name.setdefault(key, []).append(i)
            if c.kind in ("case", "table"):
                self._cases_by_point.setdefault(c.point, []).append(i)
            self._by_section.setdefault(section_key(c), []).append(i)
        self._small_cities = {entity_key(c) for c in self.chunks if c.city_size == "小都市"}
        self._allowed: dict[Filters, np.ndarray] = {}

    @classmethod
    def open(cls, settings: Settings, embedder=None, tokenizer: Tokenizer | None = None):
        """Open the chunk store written by ingest with its BM25 index: the saved snapshot and
        memory-mapped index when the manifest certifies the store, else parsed and checked
        (a damaged store raises IndexDamagedError); see bm25index.py."""
        opened = bm25index.open_store(settings)
        return cls(settings, opened.chunks, opened.index.bm25, embedder,
                   tokenizer or default_tokenizer(), opened.index.idf,
                   store_sha256=opened.index.fingerprint)

    def entity_chunks(self, entity: Entity) -> list[Chunk]:
        """Every passage of a case or column, in document order."""
        return [self.chunks[self.by_id[cid]] for cid in entity.chunk_ids if cid in self.by_id]

    def entity_text(self, entity: Entity) -> str:
        """All text of a case or column (for term look-ups)."""
        return "\n".join(c.text for c in self.entity_chunks(entity))

    @property
    def dense_enabled(self) -> bool:
        return self.embedder is not None and self.settings.retrieval_mode != "bm25"

    def _vector_store(self):
        if self._store is None:
            self._store = search_vectors(self.settings, self.embedder)
        return self._store

    def query_tokens(self, query: str) -> list[str]:
        """Query tokens expanded with the report's vocabulary (see lexicon.py)."""
        return expand(self.tokenizer(query)) if self.tokenizer else []

    def bm25_ranking(self, query: str, allowed: np.ndarray, n: int) -> list[int]:
        tokens = self.query_tokens(query)
        if not tokens:
            return []
        scores = self.bm25.get_scores(tokens)
        scores = np.where(allowed, scores, 0.0)
        # The first n scoring chunks in the order of a stable sort of all of them (ties by
        # position), without sorting every scoring chunk: those above the n-th best score,
        # then chunks at exactly that score, by position.
        positive = np.flatnonzero(scores > 0)
        if len(positive) > n:
            values = scores[positive]
            nth = np.partition(values, len(values) - n)[len(values) - n]
            positive = np.concatenate([positive[values > nth], positive[values == nth]])
        return [int(i) for i in positive[np.argsort(-scores[positive], kind="stable")][:n]]

    def allowed(self, filters: Filters) -> np.ndarray:
        """Which chunks pass the filters (read-only; computed once per distinct filters)."""
        mask = self._allowed.get(filters)
        if mask is None:
            if filters.is_empty():
                mask = np.ones(len(self.chunks), dtype=bool)
            else:
                mask = np.array([matches(c, filters) for c in self.chunks], dtype=bool)
            mask.flags.writeable = False
            if len(self._allowed) >= 64:
                self._allowed.clear()
            self._allowed[filters] = mask
        return mask

    def query_vector(self, query: str) -> list[float]:
        """The query's embedding, computed once per question text (the answer routes search
        the same question once per case)."""
        vector = self._vectors.get(query)
        if vector is None:
            if len(self._vectors) >= 256:
                self._vectors.clear()
            vector = self._vectors[query] = self.embedder.embed_query(query)
        return vector

    def dense_ranking(self, query: str, filters: Filters, n: int) -> list[str]:
        where = _where(filters)
        docs = self._vector_store().similarity_search_by_vector(
            self.query_vector(query), k=n, filter=where)
        return [d.metadata.get("chunk_id", "") for d in docs]

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               mode: str | None = None, dense_weight: float | None = None) -> list[Hit]:
        """Top-k hits for a query under the filters.

        With the configured mode "dense" and the vector store unreachable (the Chroma server
        stopped: `vectors_down`), keyword search over the local chunk store answers instead, as
        hybrid does (the answer's notice says so); a `mode` asked for explicitly (evaluating one
        retriever) gets only that retriever."""
        k = k or self.settings.top_k
        filters = filters or Filters()
        configured = mode is None
        mode = mode or self.settings.retrieval_mode
        if not self.dense_enabled:
            mode = "bm25"
        n = max(self.settings.candidates, k)
        allowed = self.allowed(filters)
        by_id = self.by_id
        rankings: list[tuple[list[str], float]] = []
        bm25_ids: list[str] = []
        dense_ids: list[str] = []
        lists: dict[str, tuple[list[str], float]] = {}
        if mode in ("hybrid", "dense"):
            # dict.fromkeys: a chunk may briefly have two vectors during a refresh.
            dense_ids = list(dict.fromkeys(cid for cid in self.dense_ranking(query, filters, n)
                                           if cid in by_id and allowed[by_id[cid]]))
            if mode == "dense" and configured and not dense_ids and vectors_down(self.settings):
                mode = "bm25"  # fail soft: the local copy by keywords
        if mode in ("hybrid", "bm25"):
            bm25_ids = [self.chunks[i].chunk_id for i in self.bm25_ranking(query, allowed, n)]
            lists["bm25"] = (bm25_ids, self.settings.bm25_weight)
            rankings.append(lists["bm25"])
        if mode in ("hybrid", "dense"):
            lists["dense"] = (dense_ids, dense_weight if dense_weight is not None
                              else self.settings.dense_weight)
            rankings.append(lists["dense"])
        fused = self._fuse(rankings, lists)
        focus = self.focus(query, [cid for cid, _ in fused], allowed)
        if focus:
            rankings.append((focus, self.settings.focus_weight))
            fused = self._fuse(rankings, lists, focus)
        if wants_many(query):
            fused = diversify(fused, self.chunks, by_id)
        fused = fused[:k]
        hits = []
        for rank, (cid, score) in enumerate(fused, start=1):
            hits.append(Hit(
                chunk=self.chunks[by_id[cid]], score=score, rank=rank,
                bm25_rank=bm25_ids.index(cid) + 1 if cid in bm25_ids else None,
                dense_rank=dense_ids.index(cid) + 1 if cid in dense_ids else None,
            ))
        return hits

    def _fuse(self, rankings: list[tuple[list[str], float]],
              lists: dict[str, tuple[list[str], float]],
              named: Sequence[str] = ()) -> list[tuple[str, float]]:
        """RRF of the lists; a hub passage's share from the BM25 or the dense list is scaled by
        its factor for that list (a passage can be a hub of one retriever only), unless that
        list ranks it first (a hub crowds the lower ranks, a best match stays one) or it is a
        passage of a case the question names (`named`)."""
        factors = self.hub_factors()
        if not any(factors.get(name) for name in lists):
            return rrf(rankings, self.settings.rrf_k)
        k = self.settings.rrf_k
        scores: dict[str, float] = {}
        keep = set(named)
        for ranking in rankings:
            ids, weight = ranking
            own = next((factors.get(n, {}) for n, r in lists.items() if r is ranking), {})
            for rank, cid in enumerate(ids, start=1):
                factor = own.get(cid, 1.0) if rank > hubs.KEEP_TOP and cid not in keep else 1.0
                scores[cid] = scores.get(cid, 0.0) + factor * weight / (k + rank)
        return sorted(scores.items(), key=lambda x: -x[1])

    def hub_factors(self) -> dict[str, dict[str, float]]:
        """Score factors of the hub passages of each retriever ("bm25", "dense"), measured once
        per index over probes generated from the index (hubs.py)."""
        if self._hub is None:
            self._hub = {}  # while measuring, search runs without the factors
            gamma = self.settings.hub_gamma
            if gamma > 0 and len(self.chunks) > hubs.PROBE_K * 2:
                self._hub = {name: hubs.hub_factors(rates, gamma)
                             for name, rates in self.hub_rates().items()}
        return self._hub

    def hub_rates(self) -> dict[str, dict[str, float]]:
        """Each passage's share of unrelated probes that BM25, and the dense retriever when
        there is one, rank in their top 5 (saved beside the term index, else measured: one
        query embedding per probe)."""
        ids = [c.chunk_id for c in self.chunks]
        dense = getattr(self.embedder, "name", "") if self.dense_enabled else ""
        signature = f"bm25+dense:{dense}|{hubs.PROBE_K}|{len(hubs.FRAMES)}|{hubs.MAX_PROBES}"
        path = hubs.stored_path(derived_dir(self.settings), self.store_sha256, signature) \
            if self.store_sha256 else None
        rates = hubs.load_rates(path, ids) if path else None
        if rates is None:
            probe_list = hubs.question_probes(self.chunks)
            everything = Filters()
            mask = self.allowed(everything)
            rates = {"bm25": hubs.hub_rates(self.chunks, probe_list, lambda q: [
                self.chunks[i].chunk_id for i in self.bm25_ranking(q, mask, hubs.PROBE_K)])}
            if dense:
                rates["dense"] = hubs.hub_rates(self.chunks, probe_list, lambda q: [
                    cid for cid in self.dense_ranking(q, everything, hubs.PROBE_K * 2)
                    if cid in self.by_id])
            if path:
                try:
                    hubs.save_rates(path, rates, len(probe_list))
                except OSError:
                    pass  # a read-only data folder: measured again next time
        return rates

    def rank_within(self, query: str, positions: list[int], k: int) -> list[Hit]:
        """Hybrid top-k among the given chunk positions only (e.g. a report's purpose or
        summary sections, answering.roles)."""
        if not positions:
            return []
        mask = np.zeros(len(self.chunks), dtype=bool)
        mask[positions] = True
        rankings = [([self.chunks[i].chunk_id for i in self.bm25_ranking(query, mask, k * 2)],
                     self.settings.bm25_weight)]
        if self.dense_enabled:
            ids = [self.chunks[i].chunk_id for i in positions]
            docs = self._vector_store().similarity_search_by_vector(
                self.query_vector(query), k=min(len(ids), k * 2),
                filter={"chunk_id": {"$in": ids}})
            rankings.append(([d.metadata.get("chunk_id", "") for d in docs
                              if d.metadata.get("chunk_id") in self.by_id],
                             self.settings.dense_weight))
        fused = rrf(rankings, self.settings.rrf_k)[:k]
        return [Hit(self.chunks[self.by_id[cid]], score, rank)
                for rank, (cid, score) in enumerate(fused, start=1)]

    def focus_targets(self, query: str) -> tuple[set[str], set[int], set[tuple[str, str]]]:
        """The municipalities/column cities, points and (report, section)s that the question
        names."""
        names = set(find_entities(query, self.known_entities))
        if _PREFECTURES.search(query):
            names |= {n for n in self.known_entities if n.endswith(("県", "道", "都", "府"))}
        if _SMALL_CITIES.search(query):
            names |= self._small_cities
        points = mentioned_points(query) or (set() if names else topic_points(query))
        plain = query.replace("の", "")
        sections = {sec for sec, title in self._titles.items() if title in plain}
        return names, points, sections

    def focus(self, query: str, order: list[str], allowed: np.ndarray) -> list[str]:
        """Chunks of the cases, columns or point that the question names, best first."""
        names, points, sections = self.focus_targets(query)
        if not names and not points and not sections:
            return []
        rank = {cid: i for i, cid in enumerate(order)}
        found: set[int] = set()
        for name in names:
            found.update(self._by_name.get(name, ()))
        for point in points:
            found.update(self._cases_by_point.get(point, ()))
        for section in sections:
            found.update(self._by_section.get(section, ()))
        picked = [self.chunks[i].chunk_id for i in sorted(found) if allowed[i]]
        return sorted(picked, key=lambda cid: rank.get(cid, len(rank)))


_PREFECTURES = re.compile(r"都道府県|県・道|県や道|県と道|県が主体|広域自治体")
_SMALL_CITIES = re.compile(r"小さな(?:市|町|自治体)|小規模な?(?:市|町|自治体)|小都市")
_MANY = re.compile(
    r"全部|すべて|全て|まとめて|比べ|比較|一覧|それぞれ|各市|両方|複数の|いくつか|挙げて|"
    r"どの(?:自治体|県|市)|事例には"
)


def wants_many(query: str) -> bool:
    """Whether a question asks for several cases.

    >>> wants_many("首長を巻き込んだ事例を全部挙げて")
    True
    >>> wants_many("仙台市はどうやって他部局を巻き込んだ？")
    False
    """
    return bool(_MANY.search(query))


def diversify(fused: list[tuple[str, float]], chunks: list[Chunk],
              by_id: dict[str, int]) -> list[tuple[str, float]]:
    """Stable re-order that puts each case's or column's best chunk ahead of its others (a
    body's case in each report counts as its own)."""
    first, rest, seen = [], [], set()
    for cid, score in fused:
        c = chunks[by_id[cid]]
        label = (c.doc_id, f"{c.municipality}{c.section}" if c.municipality
                 else (c.column or c.section))
        (rest if label in seen else first).append((cid, score))
        seen.add(label)
    return first + rest


def _section_titles(chunks: list[Chunk]) -> dict[tuple[str, str], str]:
    """Each (report, section)'s short title (2-12 characters) from its last chunk that has one.

    >>> c = Chunk(chunk_id="x", doc_id="d", doc_title="t", text="", pages=(1,), section="2-1",
    ...           section_title="第2章／調査期間")
    >>> _section_titles([c])
    {('d', '2-1'): '調査期間'}
    """
    titles: dict[tuple[str, str], str] = {}
    by_heading: dict[str, str] = {}
    for c in reversed(chunks):  # the last chunk wins: the first one found from the end
        if section_key(c) in titles:
            continue
        if c.section_title not in by_heading:
            by_heading[c.section_title] = _short_title(c)
        if 2 <= len(t := by_heading[c.section_title]) <= 12:
            titles[section_key(c)] = t
    return titles


def _short_title(c: Chunk) -> str:
    """A section's own title without numbering (e.g. '総括', '調査期間')."""
    title = c.section_title.split("／")[-1]
    return re.sub(r"^第\s*\d+\s*章[：:]?\s*", "", title).strip()


def _where(filters: Filters) -> dict | None:
    """A Chroma `where` clause for the filters that map to flat metadata."""
    clauses = []
    if filters.point:
        clauses.append({"point": filters.point})
    if filters.municipality:
        clauses.append({"municipality": canonical_municipality(filters.municipality)})
    if filters.chapter:
        clauses.append({"chapter": filters.chapter})
    if filters.doc_id:
        clauses.append({"doc_id": filters.doc_id})
    if filters.column:
        clauses.append({"kind": "interview"})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
