"""Ordinal and descriptive referents across all earlier turns."""

from tsunagari.answering.referents import resolve_referent
from tsunagari.indexing.catalogue import build_catalogue
from tsunagari.types import Chunk

CAT = build_catalogue([Chunk(str(i), "d", "t", "x", (i,), municipality=m) for i, m in
                       enumerate(["北九州市", "座間市", "名張市", "富山県", "仙台市", "那覇市", "長野県"])])


def turns(*pairs):
    return [{"role": r, "content": c} for r, c in pairs]


H = turns(("user", "北九州市と座間市の違いは？"), ("assistant", "北九州市は…、座間市は…"),
          ("user", "名張市は？"), ("assistant", "名張市は…"))


def test_ordinal_turn_and_item():
    assert resolve_referent("一番はじめの答えの2つ目の市は？", H, CAT) == "座間市"
    assert resolve_referent("最初の答えの最後の市", H, CAT) == "座間市"
    assert resolve_referent("最初に聞いた市の話をもっと", H, CAT) == "北九州市"
    assert resolve_referent("2つ目の質問の市は？", H, CAT) == "名張市"


def test_descriptive_earlier_turn_by_kind():
    h = turns(("user", "富山県の庁内体制は？"), ("assistant", "富山県は…"),
              ("user", "仙台市は？"), ("assistant", "仙台市は…"))
    assert resolve_referent("前に聞いた方の県では？", h, CAT) == "富山県"
    h2 = turns(("user", "長野県の居場所は？"), ("user", "那覇市は？"))
    assert resolve_referent("さっき聞いた県は？", h2, CAT) == "長野県"


def test_no_ordinal_no_referent():
    assert resolve_referent("その市は？", H, CAT) == ""
    assert resolve_referent("一番はじめの答えの2つ目の市は？", [], CAT) == ""


def test_an_item_of_a_list_answer_without_naming_the_turn(two_report_index):
    """「2つ目の町は？」「3つのうち最後の県」: the latest answer that lists enough cases of that
    kind, over the real two-report catalogue (answers about one case are passed over)."""
    from tsunagari.config import load_settings
    from tsunagari.service import open_service

    cat = open_service(load_settings(data_dir=two_report_index["data"],
                                     corpus_dir=two_report_index["corpus"])).retriever.catalogue
    history = [
        {"role": "user", "content": "社協と組んだところを教えて"},
        {"role": "assistant", "content": "上越市は…、芽室町は…、鳥取県は…、富山県は…"},
        {"role": "user", "content": "芽室町はどんな町？"},
        {"role": "assistant", "content": "芽室町は…"},
    ]
    assert resolve_referent("2つ目のところは？", history, cat) == "芽室町"
    assert resolve_referent("最後の県は何をした？", history, cat) == "富山県"
    assert resolve_referent("1つ目の市の担当課は？", history, cat) == "上越市"
    assert resolve_referent("そこの担当課は？", history, cat) == ""
