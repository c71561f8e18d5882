"""`python -m tsunagari playbook`: flags and a TOML profile, Markdown / JSON / Word out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsunagari.app.export import docx_footnotes
from tsunagari.cli import main
from tsunagari.config import load_settings
from tsunagari.service import ingest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("playbook-cli")
    ingest(load_settings(data_dir=data, corpus_dir=ROOT / "corpus", embedder="none",
                         retrieval_mode="bm25"))
    return data


@pytest.fixture
def env(data_dir, monkeypatch):
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TSUNAGARI_RETRIEVAL_MODE", "bm25")
    return data_dir


def test_toml_profile_with_a_flag_over_it_prints_json(env, tmp_path, capsys):
    toml = tmp_path / "profile.toml"
    toml.write_text('[profile]\nbody = "一般市"\nstage = "これから立ち上げる"\n'
                    'difficulties = [4]\n', encoding="utf-8")
    docx = tmp_path / "memo.docx"
    assert main(["playbook", "--profile", str(toml), "--difficulties", "③",
                 "--json", "--docx", str(docx)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"]["body"] == "一般市" and data["profile"]["difficulties"] == [3]
    assert [s["point"] for s in data["sections"]] == [3, 1, 2, 4, 5]
    assert all(s["cases"] and s["why"] for s in data["sections"])
    assert len(docx_footnotes(docx.read_bytes())) >= len(data["citations"])


def test_markdown_by_default(env, capsys):
    assert main(["playbook", "--body", "都道府県"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 地方版PF") and out.count("\n## ポイント") == 5
    assert "同じ都道府県の事例" in out and "[^1]: " in out


@pytest.mark.parametrize("argv, message", [
    (["--stage", "停滞"], "段階「停滞」は選べません"),
    (["--profile", "nope.toml"], "nope.toml が見つかりません"),
    (["--difficulties", "7"], "ポイント「7」が読めません"),
])
def test_bad_profiles_are_refused_in_japanese(env, capsys, argv, message):
    assert main(["playbook", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_toml_is_refused(env, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("body = ", encoding="utf-8")
    assert main(["playbook", "--profile", str(bad)]) == 1
    assert "TOML として読めません" in capsys.readouterr().err
