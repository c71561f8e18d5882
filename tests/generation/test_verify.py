"""Pure citation verification: marker parsing, sentence flags, declines, source lists."""

from __future__ import annotations

from tsunagari.answering.question import NOT_FOUND
from tsunagari.generation.answerer import _clean_condensed
from tsunagari.generation.verify import (
    UNCITED_MARK,
    WEAK_MARK,
    build_citations,
    normalize_markers,
    parse_markers,
    strip_sources,
    verification_notices,
    verify,
)
from tsunagari.types import Chunk, Hit

P = [
    "庁内関係課長連携会議（8局12課）を発足した。情報交換会を開催した。",
    "町内会だよりをイメージした情報交換会を実施した。",
    "民間団体との対話の場を設けた。",
]


def test_marker_forms_are_normalized():
    assert normalize_markers("会議を発足した［１］［２］。") == "会議を発足した[1][2]。"
    assert normalize_markers("会議【3】と[1、2]と[１,３]") == "会議[3]と[1][2]と[1][3]"
    assert normalize_markers("[出典2] [資料 1] [Source 3]") == "[2] [1] [3]"
    assert normalize_markers("[1〜3]") == "[1][2][3]"
    # Not markers: words in brackets, years, huge ranges stay as they are.
    assert normalize_markers("[注意] 2023年 [1-99]") == "[注意] 2023年 [1-99]"


def test_parse_markers_in_order_of_first_use():
    assert parse_markers("a[3] b[1][3] c［２］") == [3, 1, 2]
    assert parse_markers("マーカーなし") == []


def test_marker_after_the_full_stop_belongs_to_its_sentence():
    v = verify("情報交換会を開催しました。[1] 町内会だよりをイメージしました。[2]", P)
    assert v.uncited == () and v.used == (1, 2) and v.claims == 2


def test_marker_before_the_full_stop_also_counts():
    v = verify("連携会議（8局12課）を発足しました[1]。", P)
    assert v.uncited == () and v.used == (1,)


def test_out_of_range_markers_are_removed():
    v = verify("情報交換会を開催しました。[0][4][1]", P)
    assert v.removed == (0, 4) and v.used == (1,)
    assert v.text == "情報交換会を開催しました。[1]"


def test_only_invalid_markers_make_a_sentence_uncited():
    v = verify("情報交換会を開催しました。[7]", P)
    assert v.used == () and v.removed == (7,)
    assert v.text == f"情報交換会を開催しました。{UNCITED_MARK}"


def test_headings_labels_and_absence_notes_are_not_claims():
    text = (
        "**要点**\n- 情報交換会を開催しました。[1]\n\n## 事例\n"
        "事例：\n- 予算については資料に記述がありません。\n1. 民間団体との対話の場を設けました。[3]"
    )
    v = verify(text, P)
    assert v.claims == 2 and v.uncited == ()
    assert "**要点**" in v.text and "## 事例" in v.text


def test_every_uncited_claim_is_marked_in_place():
    v = verify("- 情報交換会を開催しました。[1]\n- 補助金は三億円です。市長が主導しました。", P)
    assert v.text.splitlines()[1] == f"- 補助金は三億円です。{UNCITED_MARK}市長が主導しました。{UNCITED_MARK}"
    assert verification_notices(v)[0] == "出典のない文が2文あります（要確認）"


def test_cited_sentence_unrelated_to_its_passage_is_flagged():
    v = verify("東京都の補助金制度は三億円規模で運用されています。[2]", P)
    assert v.weak and WEAK_MARK in v.text and v.used == (2,) and v.cited == 0
    assert "照合できない文が1文" in verification_notices(v)[0]


def test_decline_detected_even_with_spacing():
    assert verify(NOT_FOUND, P).declined
    assert verify("この資料には 該当する記述が\n見つかりませんでした。", P).declined
    assert not verify("情報交換会を開催しました。[1]", P).declined


def test_model_written_source_list_is_dropped():
    text = "情報交換会を開催しました。[1]\n\n出典：\n[1] 仙台市 p.6\n[9] どこか"
    v = verify(text, P)
    assert v.text == "情報交換会を開催しました。[1]" and v.removed == ()
    assert strip_sources("**出典**だけの行は先頭なら残す") == "**出典**だけの行は先頭なら残す"


def test_clean_verification_has_no_notices():
    assert verification_notices(verify("情報交換会を開催しました。[1]", P)) == ()


def test_citations_for_used_markers_only():
    hits = [Hit(Chunk(f"c{i}", "d", "t", p, (6 + i,)), 1.0, i + 1) for i, p in enumerate(P)]
    cits = build_citations((3, 1), hits)
    assert [c.n for c in cits] == [1, 3]
    assert cits[1].chunk is hits[2].chunk and cits[1].page == 8 and cits[1].pages == (8,)
    assert cits[0].text == P[0]


def test_condensed_question_cleanup():
    assert _clean_condensed("質問: 「仙台市の事例は？」\n説明…", "q", 100) == "仙台市の事例は？"
    assert _clean_condensed("", "元の質問", 100) == "元の質問"
    assert _clean_condensed("あ" * 200, "元の質問", 100) == "元の質問"
    assert _clean_condensed(NOT_FOUND, "元の質問", 100) == "元の質問"


def test_prompt_echo_is_detected_but_a_decline_is_not():
    from tsunagari.generation.prompts import load_prompt
    from tsunagari.generation.verify import echoes_prompt

    system = load_prompt("answer_system")
    assert echoes_prompt(system[:300], system)
    assert not echoes_prompt(NOT_FOUND, system)
    assert not echoes_prompt("情報交換会を開催しました。[1]", system)
