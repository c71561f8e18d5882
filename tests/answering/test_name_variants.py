"""Name variants against catalogue names, with real Sudachi readings."""

import pytest

from tsunagari.answering.names import fold, romaji, romaji_key, sudachi_index
from tsunagari.japanese import default_tokenizer

REPORT1 = ["仙台市", "富山県", "北九州市", "埼玉県", "江東区", "徳島市", "岐阜県", "枚方市", "名張市",
           "北海道", "市原市", "生駒市", "座間市", "A市", "B市", "C市"]
# A second report's catalogue (other places), so nothing is fitted to the first report.
REPORT2 = ["那覇市", "函館市", "長野県", "世田谷区", "西宮市"]


@pytest.fixture(scope="module")
def first():
    return sudachi_index(REPORT1, default_tokenizer())


@pytest.fixture(scope="module")
def second():
    return sudachi_index(REPORT2, default_tokenizer())


@pytest.mark.parametrize(("written", "key", "how"), [
    ("なばりしはどんな取り組み？", "名張市", "reading"),
    ("ﾄｸｼﾏ市の事例", "徳島市", "reading"),
    ("Toyamaの取り組みは？", "富山県", "romaji"),
    ("Itihara city のモデル事業", "市原市", "romaji"),
    ("座問市の相談支援", "座間市", "edit"),
    ("江藤区のコアメンバー", "江東区", "edit"),
    ("いこま市って何したところ？", "生駒市", "reading"),
    ("きたきゅうしゅうしの会議", "北九州市", "reading"),
    ("サイタマ県のトップセミナー", "埼玉県", "reading"),
    ("ほっかいどうの振興局", "北海道", "reading"),
])
def test_variants_are_written_as_the_catalogue_names_them(first, written, key, how):
    text, mentions = first.canonical(written)
    assert key in text
    m = next(m for m in mentions if m.key == key)
    assert m.how == how and text[m.start:m.end] == key


@pytest.mark.parametrize("text", [
    "福島市の事例を教えて",  # a real place (Sudachi), not a misspelt 徳島市
    "こうとうで説明する",  # a bare hiragana stem is another word (口頭)
    "市長が出てくる話",
    "大阪市の事例",
])
def test_other_text_is_left_alone(first, text):
    out, mentions = first.canonical(text)
    assert out == text and all(m.how == "exact" for m in mentions)


def test_a_second_reports_names_get_the_same_treatment(second):
    assert second.canonical("なはしの居場所づくり")[0].startswith("那覇市")
    assert second.canonical("Hakodateの事例")[0].startswith("函館市")
    assert second.canonical("ﾆｼﾉﾐﾔ市")[0] == "西宮市"
    assert second.canonical("世田谷の取組")[1][0].key == "世田谷区"  # without 区, kept as written
    assert second.canonical("長野の事例")[0] == "長野の事例"


def test_fold_keeps_point_marks_and_romaji_keys_agree():
    assert fold("ﾄｸｼﾏ市のポイント①") == "トクシマ市のポイント①"
    assert romaji("キタキュウシュウ") == "kitakyuushuu"
    assert romaji_key("Kitakyushu") == romaji_key("kitakyuushuu")
