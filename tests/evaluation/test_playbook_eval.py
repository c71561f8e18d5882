"""eval/playbook.jsonl: at least 12 profiles, all passing on the real report; checks can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagari.answering.retrieve import Retriever
from tsunagari.config import load_settings
from tsunagari.errors import InputError
from tsunagari.evaluation.playbook import check_memo, load_profiles, run_playbook_eval
from tsunagari.playbook.memo import build_memo
from tsunagari.playbook.profile import Profile
from tsunagari.service import ingest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "eval" / "playbook.jsonl"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory) -> Retriever:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("playbook-eval"),
                             corpus_dir=ROOT / "corpus", embedder="none", retrieval_mode="bm25")
    ingest(settings)
    return Retriever.open(settings)


def test_every_profile_of_the_eval_set_passes(retriever):
    rows = load_profiles(PLAYBOOK)
    assert len(rows) >= 12
    result = run_playbook_eval(PLAYBOOK, retriever)
    assert result["failures"] == {} and result["passed"] == len(rows)


@pytest.mark.parametrize("expect, problem", [
    ({"first_point": 4}, "first point [1] != 4"),
    ({"first_case": {"2": {"key": "仙台市"}}}, "point 2: first case"),
    ({"first_case_all": {"body": "都道府県"}}, "is not {'body': '都道府県'}"),
    ({"advice_contains": ["粘り強く説得"]}, "advice has none of"),
    ({"note_contains": "町村"}, "no note with '町村'"),
    ({"reason_contains": "企画部門"}, "no reason with '企画部門'"),
])
def test_wrong_expectations_fail(retriever, expect, problem):
    memo = build_memo(retriever, Profile.from_mapping({"stage": "これから立ち上げる"}))
    problems = check_memo(memo, expect, retriever)
    assert any(problem in p for p in problems), problems


def test_unreadable_lines_are_reported_in_japanese(tmp_path):
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"profile": {}}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError, match="2 行目が JSON として読めません"):
        load_profiles(bad)
