"""Find the reports in a corpus folder cheaply: sizes, content hashes, sidecars, per-file problems."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tsunagari.errors import InputError
from tsunagari.loaders import SUPPORTED_SUFFIXES, load_bytes
from tsunagari.loaders.names import has_hidden_chars, printable_name
from tsunagari.loaders.safefiles import TEMP_PREFIX, SymlinkRefused, open_regular, read_regular
from tsunagari.loaders.sidecar import SIDECAR_SUFFIXES, parse_sidecar, sidecar_path
from tsunagari.types import Document


@dataclass(frozen=True)
class FileProblem:
    """A file that could not be (re)indexed, with a Japanese message naming it."""

    file: str
    message: str
    kind: str = "error"  # error | duplicate | kept (previous version kept) | skipped


@dataclass(frozen=True)
class SourceFile:
    """One report file found in the corpus (not parsed yet)."""

    path: Path
    size: int
    data_hash: str
    mtime: float = 0.0
    meta: dict = field(default_factory=dict, compare=False, hash=False)
    meta_hash: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def doc_id(self) -> str:
        return str(self.meta.get("doc_id") or self.path.stem)

    def load(self) -> Document:
        """Parse the file into a Document (raises InputError with a Japanese message)."""
        try:
            data = read_regular(self.path)  # never through a symlink swapped in since the scan
        except SymlinkRefused:
            raise InputError(_SYMLINK.format(name=self.name)) from None
        return load_bytes(self.name, data, self.meta, str(self.path))


_SYMLINK = ("{name} はシンボリックリンクのため、読み込みませんでした。"
            "リンク先のファイルを資料フォルダに直接置いてください。")


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open_regular(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def skip_reason(path: Path) -> str | None:
    """Why a corpus entry is not read (a Japanese message naming it), or None to read it.

    Names with control, bidi or undecodable characters are shown escaped: they never reach a
    terminal or page raw.
    """
    name = path.name
    if has_hidden_chars(name):
        return (f"{printable_name(name)} はファイル名に制御文字や見えない文字が含まれているため、"
                "読み込みませんでした。ファイル名を変えてください。")
    if name.startswith(TEMP_PREFIX):
        return (f"{name} は保存の途中の一時ファイルのため、読み込みませんでした"
                "（保存が中断されて残ったものなら削除してかまいません）。")
    if name.startswith("."):
        return (f"{name} は名前が「.」で始まる隠しファイルのため、読み込みませんでした。"
                "索引に含める場合は名前を変えてください。")
    if name.startswith("~$"):
        return (f"{name} は Word などが編集中に作る一時ファイルのため、読み込みませんでした。")
    if path.is_symlink():
        return _SYMLINK.format(name=name)
    return None


def _candidates(corpus_dir: Path) -> list[Path]:
    """Files and symlinks in the corpus folder (folders and other entries are ignored)."""
    return sorted(p for p in corpus_dir.iterdir() if p.is_symlink() or p.is_file())


def scan_corpus(
    corpus_dir: Path, max_mb: float = 200.0, prefer: frozenset[str] = frozenset()
) -> tuple[list[SourceFile], list[FileProblem]]:
    """Report files to index and the problems found without parsing them.

    Files with the same content are indexed once (the one named in `prefer`, i.e. already
    indexed, or else the first by name); two files claiming the same doc_id keep the first.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise InputError(f"資料フォルダ {corpus_dir} が見つかりません。")
    files: list[SourceFile] = []
    problems: list[FileProblem] = []
    for path in _candidates(corpus_dir):
        reason = skip_reason(path)
        if reason:
            problems.append(FileProblem(printable_name(path.name), reason, "skipped"))
            continue
        suffix = path.suffix.lower()
        if suffix in SIDECAR_SUFFIXES:
            continue
        if suffix not in SUPPORTED_SUFFIXES:
            problems.append(FileProblem(path.name, f"{path.name} は対応していない形式です"
                                        f"（{suffix or '拡張子なし'}）。対応形式: "
                                        f"{' '.join(SUPPORTED_SUFFIXES)}", "skipped"))
            continue
        size = path.stat().st_size
        if size > max_mb * 1024 * 1024:
            problems.append(FileProblem(path.name, f"{path.name} は大きすぎます"
                                        f"（{size / 1024 / 1024:.1f} MB、上限 {max_mb:g} MB）。"))
            continue
        if size == 0:
            problems.append(FileProblem(path.name, f"{path.name} は空のファイルです。"))
            continue
        side = sidecar_path(path)
        try:
            data_hash = _hash_file(path)
            meta = parse_sidecar(side.name, read_regular(side)) if side else {}
        except SymlinkRefused as exc:
            linked = side.name if side and exc.filename == str(side) else ""
            problems.append(FileProblem(path.name, _SYMLINK.format(name=path.name) if not linked
                                        else f"{path.name} のメタデータファイル {linked} は"
                                        "シンボリックリンクのため、読み込みませんでした。"
                                        "資料フォルダに直接置いてください。"))
            continue
        except InputError as exc:
            problems.append(FileProblem(path.name, str(exc)))
            continue
        meta_hash = hashlib.sha256(json.dumps(meta, sort_keys=True, ensure_ascii=False,
                                              default=str).encode()).hexdigest()[:16]
        files.append(SourceFile(path, size, data_hash, path.stat().st_mtime, meta, meta_hash))
    return _dedupe(files, problems, prefer)


def _dedupe(files: list[SourceFile], problems: list[FileProblem],
            prefer: frozenset[str]) -> tuple[list[SourceFile], list[FileProblem]]:
    ordered = sorted(files, key=lambda f: (f.name not in prefer, f.mtime, f.name))
    by_hash: dict[str, SourceFile] = {}
    by_id: dict[str, SourceFile] = {}
    kept: list[SourceFile] = []
    for f in ordered:
        if f.data_hash in by_hash:
            other = by_hash[f.data_hash].name
            problems.append(FileProblem(f.name, f"{f.name} は {other} と同じ内容です。"
                                        "二重に登録しないよう、索引には含めていません。", "duplicate"))
            continue
        if f.doc_id in by_id:
            other = by_id[f.doc_id].name
            problems.append(FileProblem(f.name, f"{f.name} は {other} と同じ資料 ID（{f.doc_id}）です。"
                                        "ファイル名かメタデータの doc_id を変えてください。"))
            continue
        by_hash[f.data_hash] = f
        by_id[f.doc_id] = f
        kept.append(f)
    kept.sort(key=lambda f: f.name)
    problems.sort(key=lambda p: p.file)
    return kept, problems


@dataclass(frozen=True)
class FileChange:
    """What a refresh did to one report (status: new | changed | unchanged | removed | kept)."""

    file: str
    doc_id: str
    title: str
    status: str
    chunks: int
    added_chunks: int = 0
    removed_chunks: int = 0
    # The report profile it was chunked with, and the cases (bodies, columns) recognised.
    profile: str = ""
    cases: tuple[str, ...] = ()


STATUS_LABELS = {"new": "追加", "changed": "更新", "unchanged": "変更なし", "removed": "削除",
                 "kept": "前回の内容を維持"}


def load_corpus(corpus_dir: Path) -> list[Document]:
    """Every readable report in `corpus_dir`, sorted by file name (bad files are skipped;
    `scan_corpus` reports them)."""
    files, _ = scan_corpus(Path(corpus_dir))
    docs = []
    for f in files:
        try:
            docs.append(f.load())
        except InputError:
            continue
    return docs
