"""The load benchmark's websocket-protocol client: what it reads from Streamlit's messages, and
real sessions against the real app server (answers checked against the CLI path)."""

from __future__ import annotations

import asyncio
import os

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tsunagari.evaluation import bench_load
from tsunagari.evaluation.bench_ws import Page


def _delta(path: tuple[int, ...], **element) -> ForwardMsg:
    msg = ForwardMsg()
    msg.metadata.delta_path.extend(path)
    kind, value = next(iter(element.items()))
    if kind == "expander":
        msg.delta.add_block.expandable.label = value
    elif kind == "html":
        msg.delta.new_element.html.body = value
    elif kind == "error":
        msg.delta.new_element.alert.body = value
        msg.delta.new_element.alert.format = msg.delta.new_element.alert.ERROR
    elif kind == "exception":
        msg.delta.new_element.exception.type = "ValueError"
        msg.delta.new_element.exception.message = value
    return msg


def test_page_keeps_the_latest_delta_at_each_path_in_page_order():
    page = Page()
    page.add(_delta((0, 3, 0), html='<div class="tg-full">二つ目の質問</div>'))
    page.add(_delta((0, 1, 0), html='<div class="tg-full">一つ目の質問</div>'))
    page.add(_delta((0, 2, 1), html='<div class="tg-answer"><p>途中</p></div>'))
    # a streamed answer: later steps replace the earlier one at the same path
    page.add(_delta((0, 2, 1), html='<div class="tg-answer"><p>途中まで、そして最後まで</p></div>'))
    # a source card quoting a user's words is not a question, nor an answer
    page.add(_delta((0, 2, 3), html='<div class="tg-sources"><span class="tg-full">引用</span></div>'))
    page.add(_delta((0, 2, 4), expander="コメントを送る（任意）"))
    page.add(_delta((1, 5), expander="① 部局横断的な連携体制の構築"))
    assert page.users == ['<div class="tg-full">一つ目の質問</div>',
                          '<div class="tg-full">二つ目の質問</div>']
    assert [bench_load.flat_text(a) for a in page.answers] == ["途中まで、そして最後まで"]
    assert page.feedback_rows == 1
    assert page.errors == []
    page.add(_delta((0, 5), error="申し訳ありません。"))
    page.add(_delta((0, 6), exception="boom"))
    assert len(page.errors) == 2
    page.clear()
    assert page.users == [] and page.feedback_rows == 0


@pytest.fixture
def load_env(built_index, monkeypatch, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
    env.update(TSUNAGARI_DATA_DIR=str(built_index["data"]),
               TSUNAGARI_CORPUS_DIR=str(built_index["corpus"]),
               TSUNAGARI_EVAL_OUT=str(tmp_path / "eval-out"), HF_HUB_OFFLINE="1",
               ANONYMIZED_TELEMETRY="False")
    for key in list(os.environ):
        if key.startswith("TSUNAGARI_"):
            monkeypatch.delenv(key)
    for key in ("TSUNAGARI_DATA_DIR", "TSUNAGARI_CORPUS_DIR", "TSUNAGARI_EVAL_OUT"):
        monkeypatch.setenv(key, env[key])
    return env


def test_protocol_sessions_each_get_the_cli_answers_of_their_own_conversation(load_env, tmp_path):
    series = [["仙台市はどんな取り組みをしていますか？", "そこで工夫した点は？"],
              ["社会福祉協議会と連携した事例を教えて", "富山県の取り組みは？"]]
    expected = bench_load.cli_answers(series)["expected"]
    assert expected[0][0] != expected[1][0]
    with bench_load.app_server(load_env, tmp_path / "streamlit.log") as (url, pid):
        row = asyncio.run(bench_load._run_protocol_sessions(url, series, expected, pid))
        assert row["answers"] == 4 and row["errors"] == 0, row["error_examples"]
        assert row["mismatches"] == 0
        assert row["server_cpu_per_answer_s"] > 0
        # The check can fail: the same sessions, told to expect each other's answers.
        swapped = asyncio.run(bench_load._run_protocol_sessions(url, series, expected[::-1], pid))
    assert swapped["answers"] == 4 and swapped["errors"] == 0
    assert swapped["mismatches"] == 4
