"""Choosing a report's profile: the sidecar's name, the casebook's layout, the general fallback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tsunagari import domain
from tsunagari.chunking import chunk_document, registry
from tsunagari.chunking.registry import ReportProfile
from tsunagari.errors import InputError
from tsunagari.loaders import load_document
from tsunagari.types import Chunk, Document

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "corpus" / "chiho-pf-suiheiteki-renkei-jireishu.txt"


def test_the_first_report_goes_to_the_casebook_by_its_sidecar_format():
    doc = load_document(REPORT)
    assert doc.format == "pdf-text" and doc.profile == ""
    assert registry.profile_for(doc).name == "casebook"
    # The same text named by profile in the sidecar instead of by format.
    named = replace(doc, format="text", profile="casebook")
    assert registry.profile_for(named).name == "casebook"
    assert [c.to_dict() for c in chunk_document(named)] == \
        [c.to_dict() for c in chunk_document(doc)]


def test_a_report_never_seen_goes_to_the_general_profile(tmp_path):
    path = tmp_path / "new.md"
    path.write_text("# 見守り事例集\n\n## 1. 十和田市（青森県）\n\n十和田市では見守りを行う。\n",
                    encoding="utf-8")
    doc = load_document(path)
    assert registry.profile_for(doc).name == "general"
    # The sidecar names the profile (and declares what the layout cannot show).
    path.with_suffix(".toml").write_text(
        'profile = "general"\ntitle = "見守り事例集"\nshort_title = "見守り"\nyear = 2025\n'
        'publisher = "研究会"\npoints = ["庁内の連携", "民間団体の巻き込み"]\n', encoding="utf-8")
    doc = load_document(path)
    assert (doc.profile, doc.short_title, doc.year, doc.points) == \
        ("general", "見守り", "2025", ("庁内の連携", "民間団体の巻き込み"))
    assert registry.profile_for(doc).name == "general"


def test_an_unknown_profile_or_bad_points_is_refused_in_japanese(tmp_path):
    path = tmp_path / "new.md"
    path.write_text("# 事例集\n\n本文です。\n", encoding="utf-8")
    path.with_suffix(".toml").write_text('profile = "nosuch"\n', encoding="utf-8")
    with pytest.raises(InputError, match="nosuch.*登録されていません.*casebook"):
        chunk_document(load_document(path))
    path.with_suffix(".toml").write_text("points = 3\n", encoding="utf-8")
    with pytest.raises(InputError, match="points は"):
        load_document(path)


def test_a_later_profile_registers_through_the_same_function_and_wins_by_priority():
    def chunk(doc: Document, size: int, splitter) -> list[Chunk]:
        return [Chunk("x", doc.doc_id, doc.title, doc.text, (1,), case="甲", municipality="甲市")]

    memo = ReportProfile("memo", "メモ", chunk, matches=lambda d: d.text.startswith("メモ"),
                         priority=50)
    registry.register(memo)
    try:
        with pytest.raises(ValueError):
            registry.register(memo)  # a name is taken once
        doc = Document("m", "メモ", "m.txt", "メモ：甲市の取組", "h")
        assert registry.profile_for(doc) is memo
        assert chunk_document(doc)[0].municipality == "甲市"
        other = Document("o", "他", "o.txt", "普通の資料", "h")
        assert registry.profile_for(other).name == "general"
        assert [p.name for p in registry.registered()] == ["casebook", "memo", "general"]
    finally:
        registry.unregister("memo")


def test_the_first_reports_facts_live_in_its_profile_and_domain_reads_them():
    casebook = registry.get("casebook")
    assert domain.POINTS is casebook.points and len(casebook.points) == 5
    assert domain.POINT_MARKS == casebook.point_marks == "①②③④⑤"
    assert domain.canonical_municipality("牧方市") == casebook.aliases["牧方市"] == "枚方市"
    assert domain.topic_points("首長を巻き込む") == {2}
    assert casebook.infer_point("市長の巻き込み") == 2
    assert registry.get("general").points == {} and registry.get("general").infer_point("市長") \
        is None
