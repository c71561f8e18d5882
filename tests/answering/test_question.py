"""Question validation (every entry point's one gate) and the filter check, with real Sudachi
and the real report's chunks."""

from __future__ import annotations

import re

import pytest
from core_fixtures import index_dir, report_chunks, service  # noqa: F401
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagari.answering.question import (
    DISALLOWED,
    check_filters,
    clean_history,
    column_choices,
    municipality_choices,
    validate_question,
)
from tsunagari.answering.retrieve import matches
from tsunagari.errors import InputError
from tsunagari.japanese import default_tokenizer
from tsunagari.types import Filters

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
SURROGATE = re.compile("[\ud800-\udfff]")

# Characters that broke or could break the pipeline, mixed into arbitrary text.
ODD = ["\x00", "\x07", "\x1b", "\x1b[31m", "\x1b]0;title\x07", "\x7f", "\x85", "\r", "\r\n",
       "\t", "\n", "\u202e", "\u2066", "\u200f", "\ufeff", "\ud800", "\udbff", "\udc00",
       "\udc80", "\udcff", "\ud83d", "\ufffe", "\uffff", "\U0010ffff", "\u3000", " ", "仙台市",
       "福祉以外の部署", "？", "ﷺ"]
ANY_CHAR = st.characters(exclude_categories=())  # every code point, surrogates included
TEXT = st.lists(st.one_of(st.sampled_from(ODD), st.text(ANY_CHAR, max_size=5)),
                max_size=30).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, max_chars=st.integers(min_value=10, max_value=80))
def test_any_text_is_cleaned_or_refused_in_japanese(text, max_chars):
    try:
        q = validate_question(text, max_chars)
    except InputError as exc:
        assert JAPANESE.search(str(exc)), str(exc)
        return
    assert q and q == q.strip()
    assert len(q) <= max_chars
    assert not SURROGATE.search(q)
    assert not DISALLOWED.search(q)
    assert "\x1b" not in q and "\r" not in q
    q.encode("utf-8")  # strict: what Sudachi, Chroma and the JSON writer need
    assert validate_question(q, max_chars) == q  # cleaning is idempotent
    default_tokenizer()(q)
    default_tokenizer().morphemes(q)


@settings(max_examples=200, deadline=None)
@given(text=TEXT)
def test_the_tokenizer_never_raises_even_on_raw_text(text):
    """Defence in depth: text that bypassed validate_question (history, chunks)."""
    tokens = default_tokenizer()(text)
    assert all(not SURROGATE.search(t) for t in tokens)


def test_a_lone_surrogate_is_dropped_by_the_tokenizer():
    tok = default_tokenizer()
    assert tok("仙台\ud83d市の取組") == tok("仙台市の取組")
    assert "仙台市" in tok("仙台\udc80市")


@pytest.mark.parametrize(("raw", "clean"), [
    ("仙台\ud83d市の取組は？", "仙台市の取組は？"),  # half an emoji pair
    ("福祉\x1b[31m以外\x1b[0mの部署", "福祉以外の部署"),  # colour codes, removed whole
    ("\x1b]0;ウィンドウ\x07仙台市", "仙台市"),  # a terminal title sequence
    ("仙台市\x00の\x07取組", "仙台市の取組"),
    ("  仙台市の\r\n取組\t（1）\n", "仙台市の\n取組\t（1）"),
    ("\ufeff\u202e仙台市\u2066の\u2069取組\u200f", "仙台市の取組"),
])
def test_harmless_oddities_are_cleaned(raw, clean):
    assert validate_question(raw, 2000) == clean


@pytest.mark.parametrize(("raw", "message"), [
    # Shift_JIS bytes of 「仙台市」 as Python keeps them from argv (surrogateescape).
    ("仙台市".encode("cp932").decode("utf-8", "surrogateescape"), "UTF-8"),
    ("\x00\x07\x1b[0m \ud800", "質問を入力してください"),
    ("", "質問を入力してください"),
    (None, "質問を入力してください"),
    (42, "文字列"),
    (["仙台市"], "文字列"),
    ("あ" * 11, "11文字"),
])
def test_bad_questions_are_refused_in_japanese(raw, message):
    with pytest.raises(InputError, match=message):
        validate_question(raw, 10)


def test_history_turns_are_cleaned_and_odd_shapes_left_for_validation():
    history = ["仙台\ud800市", {"role": "user", "content": "\x1b[1m富山県\x1b[0m"},
               {"role": "assistant"}, 3]
    assert clean_history(history) == ["仙台市", {"role": "user", "content": "富山県"},
                                      {"role": "assistant"}, 3]
    assert clean_history("not a list") == "not a list"
    assert clean_history(None) is None


def test_the_answerer_answers_questions_and_history_with_lone_surrogates(service):  # noqa: F811
    ans = service.answerer.ask("仙台\ud83d市は福祉以外の部署をどう巻き込んだ？")
    assert not ans.abstained and ans.question == "仙台市は福祉以外の部署をどう巻き込んだ？"
    follow = service.answerer.ask(
        "その市では他にどんな工夫をしましたか？",
        clean_history([{"role": "user", "content": "仙台\udcff市の取組\x1b[0m"}]))
    assert follow.hits and follow.hits[0].chunk.municipality == "仙台市"
    assert not SURROGATE.search(follow.standalone_question)


def test_unknown_municipality_names_the_filter_and_lists_what_exists(report_chunks):  # noqa: F811
    with pytest.raises(InputError) as exc:
        check_filters(Filters(municipality="大阪市"), report_chunks)
    message = str(exc.value)
    assert "自治体「大阪市」" in message and "合う箇所" in message
    assert "仙台市（①）" in message and "北九州市（①⑤）" in message
    assert "コラム" not in message  # only what the user filtered on
    with pytest.raises(InputError, match="指定できるコラム: コラム１（A市）、コラム２（B市）"):
        check_filters(Filters(column="Z市"), report_chunks)
    # Each filter exists, but not together: the list shows the municipality's points.
    with pytest.raises(InputError, match=r"(?s)ポイント③、自治体「仙台市」.*仙台市（①）"):
        check_filters(Filters(point=3, municipality="仙台市"), report_chunks)


@pytest.mark.parametrize("filters", [
    Filters(), Filters(municipality="仙台市"), Filters(municipality="牧方市"),
    Filters(municipality=" 富山県 ", point=2), Filters(column="A市"), Filters(column="C市"),
    Filters(column="コラム２"), Filters(point=5),
])
def test_filters_that_match_pass(filters, report_chunks):  # noqa: F811
    check_filters(filters, report_chunks)


def test_choices_come_from_the_chunks_in_report_order(report_chunks):  # noqa: F811
    assert municipality_choices(report_chunks)[0] == "仙台市（①）"
    assert len(municipality_choices(report_chunks)) == len(
        {c.municipality for c in report_chunks if c.municipality})
    assert column_choices(report_chunks) == [
        "コラム１（A市）", "コラム２（B市）", "コラム３-１（C市①）", "コラム３-２（C市②）"]


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_check_filters_agrees_with_the_retrievers_filter(report_chunks, data):  # noqa: F811
    """The check refuses exactly the filters under which retrieval finds no passage."""
    names = sorted({c.municipality for c in report_chunks if c.municipality})
    cols = sorted({v for c in report_chunks for v in (c.column, c.column_city) if v})
    filters = Filters(
        point=data.draw(st.one_of(st.none(), st.integers(1, 5))),
        municipality=data.draw(st.sampled_from(["", "大阪市", "仙台", "牧方市", *names])),
        column=data.draw(st.sampled_from(["", "A", "C市", "Z市", "コラム1", *cols])),
    )
    found = any(matches(c, filters) for c in report_chunks)
    if found:
        check_filters(filters, report_chunks)
    else:
        with pytest.raises(InputError, match="合う箇所"):
            check_filters(filters, report_chunks)
