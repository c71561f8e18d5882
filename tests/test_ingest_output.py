"""`python -m ingest` says, per report, which profile read it and which cases it recognised; a
report dropped into corpus/ without a sidecar gets its cases and pages with no code change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tsunagari.config import load_settings
from tsunagari.indexing.store import data_paths, load_chunks, read_manifest

ROOT = Path(__file__).resolve().parents[1]
SECOND = ROOT / "tests" / "fixtures" / "reports" / "pf-torikumi-jireishu.pdf"


def test_ingest_prints_each_reports_profile_and_cases(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    shutil.copy(SECOND, corpus / SECOND.name)  # no sidecar
    data = tmp_path / "data"
    env = dict(os.environ, TSUNAGARI_DATA_DIR=str(data), TSUNAGARI_CORPUS_DIR=str(corpus),
               TSUNAGARI_EMBEDDER="none", HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-m", "ingest"], cwd=ROOT, env=env, text=True,
                         capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    first = lines.index(next(x for x in lines if "chiho-pf-suiheiteki-renkei-jireishu.txt" in x))
    assert lines[first + 1].strip().startswith("形式: 事例集")
    assert "仙台市、富山県、北九州市" in lines[first + 1] and "コラム１（A市）" in lines[first + 1]
    second = lines.index(next(x for x in lines if SECOND.name in x))
    assert lines[second + 1].strip() == (
        "形式: 汎用（見出し・自治体名から構成を読み取り） ／ 事例 7 件: "
        "上越市、芽室町、豊島区、南箕輪村、鳥取県、潮見原市、豊岡市")

    settings = load_settings(data_dir=data, corpus_dir=corpus, embedder="none")
    docs = {d["path"]: d for d in read_manifest(settings).documents}
    assert docs[SECOND.name]["profile"] == "general" and len(docs[SECOND.name]["cases"]) == 7
    chunks = [c for c in load_chunks(data_paths(settings)["chunks"])
              if c.doc_id == SECOND.stem and c.municipality and c.kind != "table"]
    assert {c.municipality: c.page for c in reversed(chunks)}["豊島区"] == 4

    # Unchanged on a second run: still said, from the cache.
    again = subprocess.run([sys.executable, "-m", "ingest"], cwd=ROOT, env=env, text=True,
                           capture_output=True, timeout=300)
    assert "変更なし" in again.stdout and "事例 7 件" in again.stdout
